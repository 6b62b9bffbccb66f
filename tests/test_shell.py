"""The shell and the Python API: one booted machine, many commands (linuxwasm.Machine)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from linuxwasm import CommandTimeout, LinuxWasmError, Machine, guest, system
from linuxwasm.paths import BUILD, GUEST


@pytest.fixture(scope="module")
def machine(kernel_image: Path) -> Iterator[Machine]:
    with Machine(kernel_image, system.build()) as m:
        yield m


def test_uname_and_exit_status(machine: Machine) -> None:
    r = machine.run("uname -a")
    assert r.exit_code == 0 and r.stderr == ""
    assert r.stdout.startswith("Linux linuxwasm 6.1.192 ")
    assert machine.run("exit 42").exit_code == 42
    assert machine.run("false").exit_code == 1


def test_stdout_and_stderr_apart(machine: Machine) -> None:
    r = machine.run("echo out; echo err >&2; echo out2")
    assert (r.stdout, r.stderr) == ("out\nout2\n", "err\n")


def test_pipeline(machine: Machine) -> None:
    assert machine.run("seq 1 5 | sort -rn | head -n 2").stdout == "5\n4\n"


def test_redirection_into_tmpfs(machine: Machine) -> None:
    r = machine.run("echo one > /tmp/f; echo two >> /tmp/f; wc -l < /tmp/f; "
                    "df -T /tmp 2>/dev/null | tail -n 1 || mount | grep ' /tmp '")
    lines = r.stdout.splitlines()
    assert lines[0].strip() == "2"
    assert "tmpfs" in lines[1]


def test_command_substitution(machine: Machine) -> None:
    assert machine.run('x=$(echo inner | tr a-z A-Z); echo "got $x `echo back`"').stdout == "got INNER back\n"


def test_background_jobs_and_wait(machine: Machine) -> None:
    r = machine.run("(sleep 0.2; echo bg1) & (echo bg2) & wait; echo done")
    assert sorted(r.stdout.split()) == ["bg1", "bg2", "done"]
    assert r.stdout.endswith("done\n")


def test_trap_and_kill_term(machine: Machine) -> None:
    script = "trap 'echo got TERM; exit 3' TERM; kill -TERM $$; sleep 5; echo not reached"
    r = machine.run(f"sh -c {_quote(script)}")
    assert r.stdout == "got TERM\n"
    assert r.exit_code == 3


def test_killed_by_signal_exit_code(machine: Machine) -> None:
    assert machine.run("kill -9 $$").exit_code == 128 + 9


def test_proc_self(machine: Machine) -> None:
    r = machine.run("ls -l /proc/self/")
    assert r.exit_code == 0
    assert "exe -> /bin/busybox" in r.stdout
    assert "cwd -> /root" in r.stdout


def test_command_lines_of_processes(machine: Machine) -> None:
    """ps and pgrep read /proc/PID/cmdline of other processes (arch/wasm/mm/remote.c)."""
    # BusyBox names itself after the applet once it has started (its comm
    # is "busybox" until then, which ps would show).
    r = machine.run("sleep 7 & pid=$!; until grep -qx sleep /proc/$pid/comm; do sleep 0.05; done;"
                    " ps -o pid,args | grep -w $pid | grep -v grep;"
                    " pgrep -f '^sleep 7'; (exec /usr/bin/xargs -0 echo < /proc/self/cmdline); kill $pid")
    # By exec: ash runs an applet like xargs in its forked child without an
    # exec (so with the shell's command line), as BusyBox does on any Linux.
    ps_line, pid, own = r.stdout.splitlines()
    assert ps_line.split() == [pid, "sleep", "7"]
    assert own == "/usr/bin/xargs -0 echo"


def test_users_and_names(machine: Machine) -> None:
    r = machine.run("id; whoami; hostname; ls -ld /root")
    lines = r.stdout.splitlines()
    assert lines[:3] == ["uid=0(root) gid=0(root) groups=0(root)", "root", "linuxwasm"] or \
        lines[:3] == ["uid=0(root) gid=0(root)", "root", "linuxwasm"]
    assert lines[3].split()[2:4] == ["root", "root"]


def test_files_in_and_out(machine: Machine) -> None:
    data = bytes(range(256)) * 300  # every byte value, larger than a ring
    machine.write_file("/tmp/blob", data, mode=0o600)
    assert machine.run("ls -l /tmp/blob").stdout.split()[0] == "-rw-------"
    assert machine.run("md5sum /tmp/blob").stdout.split()[0] == __import__("hashlib").md5(data).hexdigest()
    assert machine.read_file("/tmp/blob") == data


def test_sparse_files_larger_than_a_contiguous_block(machine: Machine) -> None:
    """tmpfs on NOMMU wanted one physical block for a file grown from empty
    (packages/linux/patches/0007): 4 MiB at most, or less once fragmented."""
    r = machine.run("dd if=/dev/zero of=/tmp/seek bs=1k seek=5000 count=1 2>/dev/null && stat -c %s /tmp/seek"
                    " && truncate -s 40000000 /tmp/sparse && echo end >> /tmp/sparse"
                    " && stat -c %s /tmp/sparse && tail -c 4 /tmp/sparse; rm -f /tmp/seek /tmp/sparse")
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout.split() == ["5121024", "40000004", "end"]


def test_file_errors_are_one_line(machine: Machine) -> None:
    with pytest.raises(LinuxWasmError, match="/nonexistent/x: No such file or directory"):
        machine.read_file("/nonexistent/x")
    with pytest.raises(LinuxWasmError, match="/proc: not a regular file"):
        machine.read_file("/proc")
    with pytest.raises(LinuxWasmError, match="/nonexistent/y: No such file or directory"):
        machine.write_file("/nonexistent/y", b"x")
    assert machine.run("echo still here").stdout == "still here\n"


def test_timeout_kills_the_command_not_the_machine(machine: Machine) -> None:
    with pytest.raises(CommandTimeout) as info:
        machine.run("echo started; sleep 30", timeout=1)
    assert info.value.partial.stdout == "started\n"
    assert machine.run("echo after").stdout == "after\n"


def _program(machine: Machine, source: str, name: str) -> str:
    """Build guest/<source> with musl and put it into the machine as /root/<name>."""
    wasm = guest.build_program(GUEST / source, BUILD / "guest" / Path(source).with_suffix(".wasm"), libc=True)
    machine.write_file(f"/root/{name}", wasm.read_bytes(), mode=0o755)
    return f"/root/{name}"


def test_pthreads_program(machine: Machine) -> None:
    r = machine.run(_program(machine, "threads-init.c", "threads"))
    assert r.exit_code == 0, r
    assert "threads: counter 80000 of 80000" in r.stdout


def test_setjmp_program(machine: Machine) -> None:
    r = machine.run(f"{_program(machine, 'faults-init.c', 'faults')} setjmp")
    assert (r.exit_code, r.stdout) == (0, "faults: setjmp returned 42 after 2 entries\n")


def test_segfault_is_reported_and_the_shell_goes_on(machine: Machine) -> None:
    program = _program(machine, "faults-init.c", "faults")
    r = machine.run(f"{program} segv; echo status $?; {program} trap; echo status $?; "
                    f"{program} stack; echo status $?")
    assert r.stdout.splitlines() == [f"status {128 + 11}", f"status {128 + 4}", f"status {128 + 11}"]
    # ash names the signal on its stderr.
    assert r.stderr.splitlines() == ["Segmentation fault", "Illegal instruction", "Segmentation fault"]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def test_busy_shell_loop_in_the_background_freezes_nothing(machine: Machine) -> None:
    """A CPU-bound job holds the CPU only until its next loop iteration after an interrupt."""
    pid = machine.run("(while :; do :; done) >/dev/null 2>&1 & echo $!", timeout=10).stdout.strip()
    for i in range(3):
        assert machine.run(f"echo answer {i}", timeout=10).stdout == f"answer {i}\n"
    # Not this shell's child: gone once kill -0 fails.
    r = machine.run(f"kill {pid}; sleep 0.2; kill -0 {pid} 2>/dev/null; echo $?", timeout=10)
    assert r.stdout == "1\n"


def test_busy_c_program_is_killed_at_its_timeout(machine: Machine) -> None:
    program = _program(machine, "busy.c", "busy")
    with pytest.raises(CommandTimeout):
        machine.run(program, timeout=1)
    assert machine.run("echo after", timeout=10).stdout == "after\n"


# Known bug, not yet found: now and then (twice in about ten full runs, once in about 300 runs of this
# command alone, right after a boot) the handler never runs and `wait` waits until the timeout.
@pytest.mark.xfail(reason="intermittent: a handled signal sometimes never reaches a busy program", strict=False)
def test_busy_c_program_runs_its_signal_handler(machine: Machine) -> None:
    """The preemption point lets the kernel deliver a handled signal to a loop."""
    program = _program(machine, "busy.c", "busy")
    r = machine.run(f"{program} handler > /tmp/busy.out & pid=$!;"
                    " until grep -q waiting /tmp/busy.out; do sleep 0.05; done;"  # its handler is in place
                    " kill -USR1 $pid; wait $pid; echo status=$?; cat /tmp/busy.out", timeout=20)
    assert r.stdout.splitlines() == ["status=0", "busy: waiting for SIGUSR1", "busy: handled signal 10, then went on"]

