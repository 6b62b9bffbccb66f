"""A first Linux lesson's tasks that once failed here, in one booted system.

Each worked with the same BusyBox built natively; each test names the
bug it keeps fixed.
"""

import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linuxwasm import Machine, system
from tests.test_sources import tar_xz


@pytest.fixture(scope="module")
def machine(kernel_image: Path) -> Iterator[Machine]:
    with Machine(kernel_image, system.build()) as m:
        yield m


def ok(machine: Machine, command: str) -> str:
    """stdout of a command that must succeed without a word on stderr."""
    r = machine.run(command, timeout=60)
    assert (r.exit_code, r.stderr) == (0, ""), (command, r)
    return r.stdout


def test_the_clock_is_the_hosts(machine: Machine) -> None:
    guest = int(ok(machine, "date +%s"))
    assert abs(guest - time.time()) < 30
    assert abs(int(ok(machine, "touch /tmp/new; stat -c %Y /tmp/new")) - time.time()) < 30
    assert ok(machine, "find /tmp/new -mmin -1") == "/tmp/new\n"
    assert ok(machine, "ls -l /tmp/new").split()[5:7] == time.strftime("%b %-d", time.gmtime()).split()


def test_time_zones_by_name(machine: Machine) -> None:
    assert ok(machine, "TZ=Europe/Paris date +%Z").strip() in ("CET", "CEST")
    assert ok(machine, "TZ=Asia/Tokyo date +%Z:%z") == "JST:+0900\n"
    assert ok(machine, "TZ=UTC date +%Z") == "UTC\n"


def test_roots_home_and_login_name(machine: Machine) -> None:
    assert ok(machine, "echo $HOME; pwd; logname") == "/root\n/root\nroot\n"


def test_tar_with_every_compression(machine: Machine) -> None:
    # gzip and bzip2 both ways; xz (BusyBox only unpacks it) from the host.
    ok(machine, "mkdir -p /tmp/t/src && seq 1000 > /tmp/t/src/numbers && cd /tmp/t && "
                "tar czf a.tgz src && tar cjf a.tbz2 src && zcat a.tgz | tar t")
    for archive, flag in (("a.tgz", "z"), ("a.tbz2", "j")):
        assert ok(machine, f"cd /tmp/t && tar t{flag}f {archive}") == "src/\nsrc/numbers\n"
        ok(machine, f"cd /tmp/t && rm -rf out && mkdir out && tar x{flag}f {archive} -C out && "
                    "cmp out/src/numbers src/numbers")
    machine.write_file("/tmp/t/a.txz", tar_xz({"hello.txt": b"hello from xz\n"}))
    assert ok(machine, "cd /tmp/t && tar tJf a.txz && tar xJf a.txz -O hello.txt") == \
        "hello.txt\nhello from xz\n"
    assert ok(machine, "cd /tmp/t && tar tf a.tgz && gzip -c src/numbers | zcat | tail -1") == \
        "src/\nsrc/numbers\n1000\n"


def test_tac_reads_a_pipe(machine: Machine) -> None:
    assert ok(machine, "seq 3 | tac") == "3\n2\n1\n"


def test_a_background_writer_to_a_fifo(machine: Machine) -> None:
    assert ok(machine, "cd /tmp && rm -f p && mkfifo p; echo x > p & cat p; wait") == "x\n"


def test_an_empty_environment_is_empty(machine: Machine) -> None:
    assert ok(machine, "env -i /usr/bin/env") == ""
    assert ok(machine, "env -i ONE=1 /usr/bin/env") == "ONE=1\n"


def test_fdisk_and_ionice(machine: Machine) -> None:
    # No disks: nothing to list (it died of SIGILL without /proc/partitions).
    assert machine.run("fdisk -l") == machine.run("true")
    assert ok(machine, "ionice -c 3 sh -c ionice; ionice") == "idle\nnone: prio 0\n"


def test_file_locks(machine: Machine) -> None:
    assert ok(machine, "flock /tmp/lock echo locked") == "locked\n"
    r = machine.run("flock -n /tmp/lock2 sleep 2 & sleep 0.5; flock -n /tmp/lock2 true; echo $?; wait")
    assert r.stdout == "1\n"


def test_scheduling_policy(machine: Machine) -> None:
    assert "SCHED_OTHER" in ok(machine, "chrt -p $$")
    assert ok(machine, "chrt -o 0 echo ran") == "ran\n"


def test_users_passwords_and_su(machine: Machine) -> None:
    out = ok(machine, "adduser -D alice 2>&1; su alice -c id; ls -l /etc/shadow")
    assert "can't lock" not in out
    assert "uid=1000(alice) gid=1000(alice)" in out
    assert out.rstrip().endswith("/etc/shadow") and out.split("\n")[-2].startswith("-rw-------")
    ok(machine, "echo alice:first-pw | chpasswd >/dev/null 2>&1")
    before = ok(machine, "grep ^alice: /etc/shadow").split(":")[1]
    assert before.startswith("$6$")  # SHA-512 crypt, not DES
    # A normal user changes their own password: passwd must be setuid root.
    r = machine.run("su alice -c \"printf 'first-pw\\nn3w-secret\\nn3w-secret\\n' | passwd\"")
    assert r.exit_code == 0, r
    after = ok(machine, "grep ^alice: /etc/shadow").split(":")[1]
    assert after.startswith("$6$") and after != before
    assert machine.run("su alice -c 'cat /etc/shadow'").exit_code == 1


def test_df_lists_the_file_systems_with_their_sizes(machine: Machine) -> None:
    """Each has the size that init gives it: a share of memory, as tmpfs has."""
    rows = {line.split()[-1]: line.split() for line in ok(machine, "df -k").splitlines()[1:]}
    memory_kib = int(ok(machine, "awk '/MemTotal/ { print $2 }' /proc/meminfo"))
    for mount, share in (("/", 0.5), ("/tmp", 0.5), ("/run", 0.2)):
        assert mount in rows, rows
        assert abs(int(rows[mount][1]) - memory_kib * share) < 64, rows[mount]


def test_process_sizes(machine: Machine) -> None:
    vsz = ok(machine, "sed -n 's/^VmSize: *//p' /proc/self/status; cut -d' ' -f23 /proc/1/stat").split()
    assert vsz[1] == "kB" and int(vsz[0]) > 0 and int(vsz[2]) > 0
    top = ok(machine, "top -b -n 1 | grep -E '^ +1 '")
    assert re.search(r"\b[1-9]\d*[km]?\b", top.split()[4]), top


def test_help_says_what_to_try(machine: Machine) -> None:
    out = ok(machine, ". /etc/profile; help")
    assert "busybox --list" in out and "/usr/share/doc/linuxwasm/guide.txt" in out
    assert "a short guide" in ok(machine, "head -1 /usr/share/doc/linuxwasm/guide.txt")


def test_stdin_carries_bytes_both_ways(machine: Machine) -> None:
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB of every byte value
    r = machine.run("sha256sum; printf '\\377\\000x'", input=data, timeout=60)
    assert r.exit_code == 0
    assert r.stdout_bytes.startswith(hashlib.sha256(data).hexdigest().encode())
    assert r.stdout_bytes.endswith(b"\xff\x00x")
    assert machine.run("cat", input="text in\n").stdout == "text in\n"
    assert machine.run("cat").stdout == ""  # no input: /dev/null


def test_time_and_timeout(machine: Machine) -> None:
    r = machine.run("time sleep 1")
    assert r.exit_code == 0 and re.search(r"real\s+0m 1\.\d\ds", r.stderr), r
    assert machine.run("time false").exit_code == 1
    assert machine.run("timeout 1 sleep 5").exit_code == 143
    assert machine.run("timeout -s KILL 1 sleep 5").exit_code == 137
    assert ok(machine, "timeout 5 echo in-time") == "in-time\n"


def test_cron_runs_a_job(machine: Machine) -> None:
    ok(machine, "echo '* * * * * date +%s >> /tmp/cron.log' | crontab - && crontab -l && crond -b -L /tmp/crond.log")
    deadline = time.monotonic() + 75  # the job runs at the next whole minute
    while machine.run("test -s /tmp/cron.log").exit_code and time.monotonic() < deadline:
        time.sleep(1)
    ran = ok(machine, "cat /tmp/cron.log; killall crond").split()
    assert ran and abs(int(ran[0]) - time.time()) < 80


def test_a_forged_ack_cannot_lose_input(kernel_image: Path) -> None:
    """The agent's acks pace a command's input: a forged one from elsewhere in
    the guest never reaches the host (the channel is the agent's alone,
    tests/test_sandbox.py), and the input arrives whole."""
    data = b"y" * 300_000
    with Machine(kernel_image, system.build()) as m:
        r = m.run("printf 'ack 999999 0\\n' > /dev/agent; wc -c", input=data, timeout=30)
    assert r.stdout.split() == [str(len(data))]
