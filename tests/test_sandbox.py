"""The sandbox against a hostile guest: what comes out of the guest cannot
mislead the host or grow its memory past the machine's, timeouts hold,
and nothing a command starts outlives its kill."""

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linuxwasm import Machine, MachineError, agent, guest, machine as machine_module, system
from linuxwasm.errors import LinuxWasmError
from linuxwasm.machine import CommandTimeout
from linuxwasm.paths import BUILD

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "linuxwasm.cli"]


@pytest.fixture(scope="module")
def image() -> Path:
    return system.build()


@pytest.fixture(scope="module")
def machine(kernel_image: Path, image: Path) -> Iterator[Machine]:
    with Machine(kernel_image, image) as m:
        yield m


def rss_peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


# -- 1. the agent channel belongs to the agent --------------------------------


@pytest.mark.parametrize("channel", ["/dev/agent", "/proc/$PPID/fd/1", "/tmp/agent-node"])
def test_no_other_process_can_write_the_channel(machine: Machine, channel: str) -> None:
    """A forged exit frame, written by root through the device, the agent's own
    open file or a new device node, never reaches the host."""
    r = machine.run(
        "mknod /tmp/agent-node c $(tr : ' ' < /sys/class/misc/agent/dev) 2>/dev/null;"
        f"printf 'exit 1 0\\n' > {channel}; echo status $?; exit 3", timeout=30)
    assert r.exit_code == 3
    assert "status 1" in r.stdout
    assert "busy" in r.stderr.lower()


def test_no_other_process_can_read_the_channel(machine: Machine) -> None:
    r = machine.run("cat /dev/agent; cat /proc/$PPID/fd/0; echo done", timeout=30)
    assert r.stdout == "done\n"
    assert r.stderr.lower().count("busy") == 2


def test_forged_data_frame_does_not_reach_a_copied_out_file(kernel_image: Path, image: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "f.txt"
    r = subprocess.run([*CLI, "run", "--kernel", str(kernel_image), "--initramfs", str(image),
                        "--copy-out", f"/etc/hostname:{out}", "-c",
                        "printf 'data 2 6\\nforged' > /proc/$PPID/fd/1; exit 0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "linuxwasm\n"


# -- the host reads the channel as untrusted input ----------------------------


@pytest.mark.parametrize("frames, problem", [
    (b"out 1 -1\n", "not a message header"),
    (b"out 1 99999999999\n", "at most 4096"),
    (b"data 1 999999999999999\n", "at most 4096"),
    (b"x" * 5000 + b"\n", "not a message header"),
    (b"exit 7 0\n", "for request 7"),
    (b"", "the machine stopped"),
    (b"done 1 0\n", "'done'"),
    (b"exit 1 300\n", "exit message with 300"),
    (b"hello 1 0\n", "unknown message kind"),
    (b"out 1 10\nshort", "cut off"),
])
def test_malformed_frames_are_a_machine_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              frames: bytes, problem: str) -> None:
    """A guest that speaks nonsense on the channel (a stand-in for the node
    process here) stops the machine with a MachineError that names it: no
    hang, no MemoryError, no traceback from a thread."""
    fake = tmp_path / "fake.py"
    fake.write_text(textwrap.dedent(f"""
        import sys
        sys.stdin.buffer.readline()
        sys.stdout.buffer.write({frames!r})
    """))
    monkeypatch.setattr(machine_module.runner, "check_inputs", lambda options: None)
    monkeypatch.setattr(machine_module.runner, "node_command",
                        lambda options, cables: [sys.executable, "-c", "print('ready 0 0', flush=True); "
                                         f"exec(open({str(fake)!r}).read())"])
    m = Machine(tmp_path / "k", tmp_path / "i")
    m.start()
    try:
        started = time.monotonic()
        with pytest.raises(MachineError, match=problem.replace("(", r"\(")):
            m.run("true")
        assert time.monotonic() - started < 10
        with pytest.raises(MachineError):  # and it stays stopped
            m.run("true")
    finally:
        m.close()


def test_read_message_bounds_every_length() -> None:
    import io

    with pytest.raises(agent.ProtocolError):
        agent.read_message(io.BytesIO(b"data 1 5000\n" + b"x" * 5000))
    assert agent.read_message(io.BytesIO(b"data 1 3\nabc")).payload == b"abc"
    with pytest.raises(agent.ProtocolError):
        agent.read_message(io.BytesIO(b"out +1 3\nabc"))


def test_a_stopped_agent_is_a_timeout_then_a_machine_error(kernel_image: Path, image: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine_module, "UNFINISHED_TIMEOUT", 3.0)
    with Machine(kernel_image, image) as m:
        started = time.monotonic()
        with pytest.raises(CommandTimeout):
            m.run("kill -STOP $PPID; sleep 100", timeout=3)
        assert time.monotonic() - started < 6
        with pytest.raises(MachineError, match="did not end a killed command"):
            m.run("true")


# -- 2. host memory -----------------------------------------------------------


def _each_process(condition: str, action: str) -> str:
    """Shell that runs action for each process ($p its /proc directory) for
    which condition holds: builtins only, for no fork is possible while the
    memory is full."""
    return f"for p in /proc/[0-9]*; do {condition} && {action}; done 2> /dev/null"


# A shell function: whether user processes run besides init, the agent and
# this shell (kernel threads have no command line).
_OTHERS_RUN = ("others_run() { n=0; "
               + _each_process('line=; read -r line < $p/cmdline; [ -n "$line" ]', "n=$((n+1))")
               + "; [ $n -gt 3 ]; }; ")


def test_programs_memory_counts_against_the_machines(kernel_image: Path, image: Path) -> None:
    """16 processes that each want 64 MiB in a 128 MiB machine: most get ENOMEM
    or meet the OOM killer, the host's memory stays near the machine's, and
    all of it comes back when they end."""
    with Machine(kernel_image, image, memory_mib=128) as m:
        free_before = int(m.run("free -m | awk '/Mem/ { print $4 }'", timeout=30).stdout)
        m.run("for i in $(seq 16); do dd if=/dev/zero of=/dev/null bs=64M count=2 & done; wait", timeout=120)
        # ash ends at a fork that fails (while a dd has the memory): what it
        # started goes on, and ends. Waited for with builtins only, which
        # need no fork.
        m.run(f"{_OTHERS_RUN} while others_run; do sleep 0.1; done", timeout=120)
        peak = rss_peak_mib(m.pid)
        # A process leaves /proc's view (its mm is gone) a moment before
        # exit_mmap() has given its memory back: allow the moment.
        deadline = time.monotonic() + 10
        while (free_after := int(m.run("free -m | awk '/Mem/ { print $4 }'", timeout=30).stdout)) \
                <= free_before - 8 and time.monotonic() < deadline:
            time.sleep(0.2)
        kills = m.run("dmesg | grep -c 'Out of memory: Killed process'", timeout=30).stdout
    assert int(kills) > 0
    assert free_after > free_before - 8, f"{free_before} MiB free before, {free_after} after"
    # Measured: about 300 MiB (docs/how-it-works.md, "Host memory"); 16 x 64 MiB before.
    assert peak < 128 + 128 + 200, f"node's peak resident memory {peak:.0f} MiB"


def test_a_program_that_grows_its_memory_itself_is_refused(machine: Machine) -> None:
    """memory.grow behind the kernel's back would hold host memory nobody
    counts: such a program does not run (ENOEXEC), and the machine goes on."""
    program = guest.build_program(REPO / "guest" / "grow.c", BUILD / "guest" / "grow.wasm", libc=True)
    machine.write_file("/root/grow", program.read_bytes(), mode=0o755)
    # By env: ash, as POSIX says, runs a file the kernel will not exec as a script.
    r = machine.run("env /root/grow", timeout=60)
    assert r.exit_code != 0 and "Exec format error" in r.stderr, r
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"


def run_code_check(tmp_path: Path, modules: dict[str, bytes]) -> dict[str, str | None]:
    """runtime/user-code.js's verdict on each module."""
    import json

    from linuxwasm import nodejs

    for name, data in modules.items():
        (tmp_path / name).write_bytes(data)
    script = tmp_path / "check.mjs"
    script.write_text(
        f"import {{ readFileSync }} from 'node:fs';\n"
        f"import {{ codeProblem }} from '{REPO / 'runtime' / 'user-code.js'}';\n"
        f"const names = {json.dumps(list(modules))};\n"
        f"const out = {{}};\n"
        f"for (const n of names) out[n] = codeProblem(new Uint8Array(readFileSync('{tmp_path}/' + n)));\n"
        f"console.log(JSON.stringify(out));\n")
    r = subprocess.run([str(nodejs.build()), str(script)], capture_output=True, text=True, timeout=60)
    return json.loads(r.stdout)


def module_with_body(body: bytes, memory_section: bool = False) -> bytes:
    """A module of one function () -> () with this body (ending in end)."""
    def section(id_: int, content: bytes) -> bytes:
        return bytes([id_, len(content)]) + content
    code = bytes([1, len(body) + 1, 0]) + body
    return (b"\0asm\1\0\0\0" + section(1, b"\1\x60\0\0") + section(3, b"\1\0")
            + (section(5, b"\1\0\1") if memory_section else b"") + section(10, code))


def test_the_code_check_finds_growth_however_it_is_written(tmp_path: Path) -> None:
    verdicts = run_code_check(tmp_path, {
        "busybox": (BUILD / "busybox.wasm").read_bytes(),
        "grow": guest.build_program(REPO / "guest" / "grow.c", BUILD / "guest" / "grow.wasm", libc=True)
        .read_bytes(),
        # memory.grow with its memory index padded: 0x40 0x80 0x80 0x00
        "padded": module_with_body(b"\x41\x01\x40\x80\x80\x00\x1a\x0b", memory_section=False),
        # block (empty) unreachable end: 0x40 0x00 that is no memory.grow
        "lookalike": module_with_body(b"\x02\x40\x00\x0b\x0b"),
        "own memory": module_with_body(b"\x0b", memory_section=True),
        # i32.const 0, ref.null func, table.grow 0 (as bytes; never compiled here)
        "table": module_with_body(b"\xd0\x70\x41\x00\xfc\x0f\x00\x1a\x0b"),
        # the same with table.grow's opcode padded: 0xfc 0x8f 0x00
        "padded table": module_with_body(b"\xd0\x70\x41\x00\xfc\x8f\x00\x00\x1a\x0b"),
        # a local of a typed reference (0x63 0x00), which a one-byte reader of
        # types would take for something else, and memory.grow after it
        "typed local": (b"\0asm\1\0\0\0\1\4\1\x60\0\0\3\2\1\0"
                        b"\n\x0c\1\x0a\1\1\x63\x00\x41\x01\x40\x00\x1a\x0b"),
        # a struct type: its allocations would be host memory nobody counts
        "struct": b"\0asm\1\0\0\0\1\5\1\x5f\1\x7f\1",
    })
    assert verdicts["busybox"] is None
    assert verdicts["lookalike"] is None
    assert "memory.grow" in verdicts["grow"] and "memory.grow" in verdicts["padded"]
    assert "memory of its own" in verdicts["own memory"]
    assert "table.grow" in verdicts["table"] and "table.grow" in verdicts["padded table"]
    assert "not known" in verdicts["typed local"]
    assert "not known" in verdicts["struct"]


def test_a_program_too_large_to_start_is_refused_before_it_touches_memory(machine: Machine,
                                                                            tmp_path: Path) -> None:
    """A program whose initial memory (200 MiB) is more than the machine has
    free, with a byte of data in every page, which would touch it all: it is
    refused at exec (ENOMEM) before the host makes that memory."""
    pages = 3200
    data = "\n".join(f'  (data (i32.const {page * 65536 + offset}) "\\01")'
                     for page in range(1, pages) for offset in range(0, 65536, 4096))
    (tmp_path / "huge.wat").write_text(f"""(module
  (import "env" "memory" (memory {pages} 4096 shared))
  (import "linux" "syscall" (func (param i32 i64 i64 i64 i64 i64 i64) (result i64)))
  (global (export "__stack_pointer") (mut i32) (i32.const 65536))
  (table (export "__indirect_function_table") 1 funcref)
  (func (export "_start") unreachable)
{data})
""")
    subprocess.run(["wat2wasm", "--enable-threads", "-o", str(tmp_path / "huge"), str(tmp_path / "huge.wat")],
                   check=True)
    machine.write_file("/root/huge", (tmp_path / "huge").read_bytes(), mode=0o755)
    before = rss_peak_mib(machine.pid)
    r = machine.run("/root/huge; echo status $?", timeout=60)
    assert "status 0" not in r.stdout, r
    assert rss_peak_mib(machine.pid) < before + 50, "the program's memory was touched"
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"


# -- 3. file systems have a size ----------------------------------------------


@pytest.mark.parametrize("folder", ["/tmp", "/run", "/root"])
def test_filling_a_file_system_gives_enospc(kernel_image: Path, image: Path, folder: str) -> None:
    with Machine(kernel_image, image, memory_mib=128) as m:
        r = m.run(f"dd if=/dev/zero of={folder}/big bs=1M count=200", timeout=120)
        assert r.exit_code != 0
        assert "No space left on device" in r.stderr
        assert m.run(f"df -k {folder} | tail -1", timeout=30).stdout.split()[1] != "0"
        assert m.run(f"rm {folder}/big; echo ok > {folder}/small; cat {folder}/small",
                     timeout=30).stdout == "ok\n"
        # All of it came back: the same again fits as much.
        r = m.run(f"dd if=/dev/zero of={folder}/big bs=1M count=200", timeout=120)
        assert "No space left on device" in r.stderr
        assert m.run("echo alive", timeout=30).stdout == "alive\n"


def test_the_agent_is_never_the_oom_killers_choice(machine: Machine) -> None:
    r = machine.run("cat /proc/$PPID/oom_score_adj /proc/self/oom_score_adj;"
                    " cut -d' ' -f19 /proc/$PPID/stat /proc/self/stat", timeout=30)
    assert r.stdout.split() == ["-1000", "0", "-10", "0"]


# -- 4. timeouts and what a command leaves behind -----------------------------


def test_a_fork_bomb_ends_at_its_timeout_and_the_machine_goes_on(kernel_image: Path, image: Path) -> None:
    """hush, unlike ash, goes on after a fork that failed: so this loop forks
    until its timeout ends it."""
    with Machine(kernel_image, image) as m:
        started = time.monotonic()
        with pytest.raises(CommandTimeout):
            m.run("hush -c 'while :; do sleep 1000 & done' 2> /dev/null", timeout=5)
        assert time.monotonic() - started < 5 + 2
        r = m.run("ps -o pid,comm | grep -c sleep", timeout=30)
        assert r.stdout.strip() == "0"
        assert m.run("echo alive", timeout=30).stdout == "alive\n"


def test_a_fork_bomb_that_fills_the_memory_leaves_room_to_clean_up(kernel_image: Path, image: Path) -> None:
    """No copy-on-write: each child holds a copy of the shell's memory, so
    forks fail with ENOMEM before the machine's memory is gone: the kernel
    keeps vm.admin_reserve_kbytes free, enough for the agent to start the
    next command's shell, whose builtins (no fork yet) end the bomb, as
    bash's do on a full Linux. Nothing is OOM-killed."""
    def sleeps(action: str) -> str:
        return _each_process("read c < $p/comm && [ $c = sleep ]", action)

    # 64 MiB: the memory runs out before the 256 processes a command may have.
    with Machine(kernel_image, image, memory_mib=64) as m:
        r = m.run(f"sh -c 'while :; do sleep 1000 & done'; n=0; {sleeps('n=$((n+1))')}; echo $n",
                  timeout=60)
        assert "can't fork: Out of memory" in r.stderr, r
        assert int(r.stdout) > 20, r
        m.run(sleeps("kill ${p#/proc/}"), timeout=30)
        r = m.run("while pgrep sleep > /dev/null; do sleep 0.1; done; dmesg | grep -c 'Killed process'",
                  timeout=30)
        assert r.stdout.strip() == "0", r
        assert m.run("echo alive", timeout=30).stdout == "alive\n"


def test_a_command_has_at_most_256_processes(machine: Machine) -> None:
    r = machine.run("i=0; while [ $i -lt 300 ]; do sleep 100 & i=$((i+1)); done 2>&1 | tail -1;"
                    " ps -o comm | grep -c sleep; kill $(pgrep sleep) 2>/dev/null; true", timeout=120)
    assert "Resource temporarily unavailable" in r.stdout or "can't fork" in r.stdout, r.stdout
    assert int(r.stdout.split()[-1]) < 256


def test_a_timeout_kills_processes_that_left_the_session(machine: Machine) -> None:
    with pytest.raises(CommandTimeout):
        machine.run("setsid sleep 1001 & sleep 1002", timeout=2)
    assert machine.run("pgrep -f 'sleep 100[12]' | wc -l", timeout=30).stdout.strip() == "0"


def test_what_a_command_leaves_running_goes_on(machine: Machine) -> None:
    machine.run("sleep 1003 > /dev/null 2>&1 &", timeout=30)
    # [3]: the pattern does not match the command line that holds it.
    assert machine.run("pgrep -f 'sleep 100[3]' | wc -l", timeout=30).stdout.strip() == "1"
    machine.run("pkill -f 'sleep 100[3]'", timeout=30)


def test_output_flood_ends_at_its_timeout(machine: Machine) -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        machine.run("yes", timeout=2, on_stdout=lambda data: None)
    assert time.monotonic() - started < 2 + 2
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"


def test_file_requests_never_wait_on_special_files(machine: Machine) -> None:
    machine.run("rm -f /tmp/fifo; mkfifo /tmp/fifo", timeout=30)
    with pytest.raises(LinuxWasmError, match="not a regular file"):
        machine.read_file("/tmp/fifo", timeout=10)
    with pytest.raises(LinuxWasmError, match="not a regular file|No such device"):
        machine.write_file("/tmp/fifo", b"x", timeout=10)
    with pytest.raises(LinuxWasmError, match="wait for data"):
        machine.read_file("/proc/kmsg", timeout=10)
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"


def test_a_nul_byte_is_refused(machine: Machine) -> None:
    with pytest.raises(ValueError, match="NUL"):
        machine.write_file("/tmp/a\0b", b"x")
    with pytest.raises(ValueError, match="NUL"):
        machine.read_file("/tmp/a\0b")
    with pytest.raises(ValueError, match="NUL"):
        machine.run("echo a\0b")
    assert machine.run("ls /tmp/a 2>&1; true", timeout=30).stdout.endswith("No such file or directory\n")


def test_one_machine_shared_by_threads(machine: Machine) -> None:
    wrong: list[str] = []

    def work(n: int) -> None:
        try:
            requests(n)
        except Exception as e:  # an exception in a thread would pass unseen
            wrong.append(f"{type(e).__name__}: {e}")

    def requests(n: int) -> None:
        for i in range(40):
            r = machine.run(f"echo {n}-{i}", timeout=60)
            if r.stdout != f"{n}-{i}\n":
                wrong.append(r.stdout)
            machine.write_file(f"/tmp/t{n}", f"{n}:{i}")
            if machine.read_text(f"/tmp/t{n}") != f"{n}:{i}":
                wrong.append(f"file {n}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_kept_output_is_bounded(machine: Machine) -> None:
    from linuxwasm import OutputTooLarge

    with pytest.raises(OutputTooLarge):
        machine.run("yes", timeout=60, max_output=1_000_000)
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"


def test_a_timeout_holds_while_output_keeps_coming(machine: Machine) -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        machine.run("yes", timeout=2, on_stdout=lambda data: time.sleep(0.002))
    assert time.monotonic() - started < 2 + 3
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"


def test_a_callback_may_not_make_requests(machine: Machine) -> None:
    with pytest.raises(MachineError, match="inside a callback"):
        machine.run("echo x", timeout=30, on_stdout=lambda data: machine.run("true"))
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"


def test_a_long_path_gets_an_error_not_a_broken_machine(machine: Machine) -> None:
    with pytest.raises(LinuxWasmError, match="File name too long|Filename too long") as caught:
        machine.read_file("/tmp/" + "x" * 2000)
    assert not isinstance(caught.value, MachineError)
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"


def test_files_pass_through_the_agent_in_pieces(machine: Machine) -> None:
    """The agent holds no whole file: its memory never shrinks, and the
    kernel counts all of it against the machine."""
    data = os.urandom(20 << 20)
    machine.write_file("/tmp/big", data)
    assert machine.read_file("/tmp/big") == data
    rss_kib = int(machine.run("awk '/VmRSS/ { print $2 }' /proc/$PPID/status", timeout=30).stdout)
    assert rss_kib < 8 * 1024, f"the agent holds {rss_kib} KiB"
    machine.run("rm /tmp/big", timeout=30)


def test_reading_holes_fills_no_memory(machine: Machine) -> None:
    r = machine.run("truncate -s 200M /tmp/sparse && cat /tmp/sparse | wc -c;"
                    " df -k /tmp | awk 'NR == 2 { print $3 }'; rm /tmp/sparse", timeout=120)
    size, used_kib = r.stdout.split()
    assert size == str(200 << 20) and int(used_kib) < 1024, r


def test_a_command_that_leaves_its_group_is_killed_too(machine: Machine) -> None:
    with pytest.raises(CommandTimeout):
        machine.run("echo $$ > /sys/fs/cgroup/cgroup.procs; sleep 1004", timeout=2)
    assert machine.run("pgrep -f 'sleep 100[4]' | wc -l", timeout=30).stdout.strip() == "0"


def test_streamed_output_is_not_kept(machine: Machine) -> None:
    seen = 0

    def count(data: bytes) -> None:
        nonlocal seen
        seen += len(data)

    r = machine.run("head -c 3000000 /dev/zero", timeout=60, on_stdout=count)
    assert seen == 3_000_000
    assert r.stdout_bytes == b""


def test_the_cli_streams_output_in_bounded_memory(kernel_image: Path, image: Path) -> None:
    script = textwrap.dedent(f"""
        import sys
        from linuxwasm import oneshot
        from pathlib import Path
        sys.stdout = open("/dev/null", "w")
        status = oneshot.run("head -c 300000000 /dev/zero", Path({str(kernel_image)!r}),
                             Path({str(image)!r}), [], [], 128, 300, False)
        # VmHWM, not ru_maxrss: that keeps the peak of pytest itself, from before exec.
        peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
        print(status, int(peak) // 1024, file=sys.stderr)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    status, peak_mib = r.stderr.split()[-2:]
    assert status == "0", r.stderr
    assert int(peak_mib) < 100, f"the CLI peaked at {peak_mib} MiB for 300 MB of output"


@pytest.mark.parametrize("command, reason", [
    ("poweroff", "the guest powered off"),
    ("reboot", "the guest rebooted"),
    ("halt", "the guest halted"),
    ("kill -9 $PPID", "the guest agent was killed by signal 9"),
])
def test_the_machine_says_why_it_stopped(kernel_image: Path, image: Path, command: str, reason: str) -> None:
    with Machine(kernel_image, image) as m:
        with pytest.raises(MachineError, match=reason):
            m.run(command, timeout=30)


def test_node_does_not_outlive_python(kernel_image: Path, image: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from linuxwasm import Machine
        m = Machine(Path({str(kernel_image)!r}), Path({str(image)!r})).start()
        print(m.pid, flush=True)
        time.sleep(600)
    """)
    python = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    node = int(python.stdout.readline())
    python.kill()
    python.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(node, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{node}/stat").read_text().split()[2] == "Z":
            return
        time.sleep(0.1)
    os.kill(node, 9)
    pytest.fail("the machine's node process outlived the Python process that started it")
