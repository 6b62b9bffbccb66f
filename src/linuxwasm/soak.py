"""`linuxwasm soak`: many boots, many commands, the hostile probes, and the host's memory.

Normal use must never fault, and nothing a guest does may mislead or harm
the host. This checks both: it boots many times (each boot must answer a
command), runs many mixed commands in one machine (every output, status
and file checked against what the host computes itself), runs each
hostile probe (tests/test_sandbox.py has one test for each too) and
watches the node process's resident memory over the commands. CI runs a
short version (tests/test_soak.py); `linuxwasm soak --boots 1000
--commands 10000` is the long one.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from linuxwasm import guest
from linuxwasm.errors import LinuxWasmError
from linuxwasm.machine import CommandTimeout, Machine, MachineError
from linuxwasm.paths import BUILD, GUEST

# Resident memory is sampled once the machine has warmed up (its programs
# compiled, its pools filled).
WARM_UP_COMMANDS = 200


@dataclass
class Probe:
    name: str
    ok: bool
    outcome: str


@dataclass
class SoakReport:
    boots: int = 0
    boot_faults: list[str] = field(default_factory=list)
    commands: int = 0
    command_faults: list[str] = field(default_factory=list)
    rss_warm_mib: float = 0.0
    rss_end_mib: float = 0.0
    probes: list[Probe] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.boot_faults and not self.command_faults and all(p.ok for p in self.probes)

    def growth_per_1000_commands(self) -> float:
        measured = self.commands - WARM_UP_COMMANDS
        return (self.rss_end_mib - self.rss_warm_mib) * 1000 / measured if measured > 0 else 0.0

    def lines(self) -> list[str]:
        lines = [f"boots: {self.boots}, faults: {len(self.boot_faults)}",
                 f"commands: {self.commands} in one machine, faults: {len(self.command_faults)}",
                 f"host memory (node, resident): {self.rss_warm_mib:.0f} MiB after {WARM_UP_COMMANDS} "
                 f"commands, {self.rss_end_mib:.0f} MiB at the end: "
                 f"{self.growth_per_1000_commands():+.1f} MiB per 1,000 commands"]
        lines += [f"fault: {fault}" for fault in (self.boot_faults + self.command_faults)[:20]]
        lines += [f"probe {p.name}: {'ok' if p.ok else 'FAILED'}: {p.outcome}" for p in self.probes]
        return lines


def resident_mib(pid: int, field_name: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- mixed commands, each checked -------------------------------------------


def _command(machine: Machine, rng: random.Random) -> str | None:
    """Run one command chosen at random; a description of what was wrong, or None."""
    kind = rng.randrange(7)
    if kind == 0:
        token = f"{rng.getrandbits(64):x}"
        r = machine.run(f"echo {token}", timeout=60)
        return None if (r.exit_code, r.stdout) == (0, f"{token}\n") else f"echo: {r}"
    if kind == 1:
        n = rng.randrange(1, 2000)
        r = machine.run(f"seq 1 {n} | sort -rn | head -n 1", timeout=60)
        return None if r.stdout == f"{n}\n" else f"seq {n}: {r.stdout!r}"
    if kind == 2:
        data = rng.randbytes(rng.randrange(0, 65536))
        machine.write_file("/tmp/soak", data)
        r = machine.run("sha256sum /tmp/soak", timeout=60)
        if r.stdout.split()[:1] != [hashlib.sha256(data).hexdigest()]:
            return f"sha256sum of {len(data)} bytes: {r.stdout!r}"
        return None if machine.read_file("/tmp/soak") == data else f"read back {len(data)} bytes"
    if kind == 3:
        data = rng.randbytes(rng.randrange(0, 200_000))
        r = machine.run("wc -c", input=data, timeout=60)
        return None if r.stdout.split() == [str(len(data))] else f"wc -c of {len(data)}: {r.stdout!r}"
    if kind == 4:
        code = rng.randrange(256)
        r = machine.run(f"exit {code}", timeout=60)
        return None if r.exit_code == code else f"exit {code}: {r.exit_code}"
    if kind == 5:
        r = machine.run("echo out; echo err >&2", timeout=60)
        return None if (r.stdout, r.stderr) == ("out\n", "err\n") else f"stderr: {r}"
    r = machine.run("sh -c 'kill -9 $$'", timeout=60)
    return None if r.exit_code == 137 else f"kill -9: {r.exit_code}"


def _boots(kernel: Path, initramfs: Path, count: int, report: SoakReport, tick: Callable[[str], None]) -> None:
    for i in range(count):
        try:
            with Machine(kernel, initramfs) as machine:
                r = machine.run("cat /proc/sys/kernel/ostype", timeout=60)
                if r.stdout != "Linux\n":
                    report.boot_faults.append(f"boot {i}: {r}")
        except LinuxWasmError as e:
            report.boot_faults.append(f"boot {i}: {e}")
        report.boots += 1
        tick(f"boot {i + 1} of {count}")


def _commands(kernel: Path, initramfs: Path, count: int, seed: int, report: SoakReport,
              tick: Callable[[str], None]) -> None:
    rng = random.Random(seed)
    with Machine(kernel, initramfs) as machine:
        for i in range(count):
            try:
                fault = _command(machine, rng)
            except LinuxWasmError as e:
                fault = str(e)
            if fault:
                report.command_faults.append(f"command {i}: {fault}")
            report.commands += 1
            if report.commands == WARM_UP_COMMANDS:
                report.rss_warm_mib = resident_mib(machine.pid)
            if i % 100 == 99:
                tick(f"command {i + 1} of {count}")
        report.rss_end_mib = resident_mib(machine.pid)


# -- hostile probes ----------------------------------------------------------


def _probe_forged_frames(machine: Machine) -> str:
    r = machine.run("printf 'exit 1 0\\n' > /dev/agent; printf 'exit 1 0\\n' > /proc/$PPID/fd/1; exit 3",
                    timeout=30)
    assert r.exit_code == 3, f"exit status {r.exit_code}"
    return "writes to the channel refused (EBUSY); the command's own status came back"


def _probe_fork_bomb(machine: Machine) -> str:
    started = time.monotonic()
    try:
        # hush, unlike ash, goes on forking after a fork fails.
        machine.run("hush -c 'while :; do sleep 1000 & done' 2> /dev/null", timeout=5)
    except CommandTimeout:
        pass
    took = time.monotonic() - started
    left = machine.run("pgrep sleep | wc -l", timeout=30).stdout.strip()
    assert took < 7 and left == "0", f"{took:.1f} s, {left} left"
    return f"timeout of 5 s held in {took:.1f} s; no process left; the machine goes on"


def _probe_fill_tmp(machine: Machine) -> str:
    r = machine.run("dd if=/dev/zero of=/tmp/fill bs=1M count=1000; rm /tmp/fill", timeout=120)
    assert "No space left on device" in r.stderr, r.stderr
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"
    return "ENOSPC, and the machine goes on"


def _probe_special_files(machine: Machine) -> str:
    machine.run("rm -f /tmp/fifo; mkfifo /tmp/fifo", timeout=30)
    for path in ("/tmp/fifo", "/proc/kmsg"):
        try:
            machine.read_file(path, timeout=10)
        except MachineError:
            raise
        except LinuxWasmError:
            continue
        raise AssertionError(f"{path} was read")
    return "a FIFO and /proc/kmsg refused at once"


def _probe_nul(machine: Machine) -> str:
    try:
        machine.write_file("/tmp/a\0b", b"x")
    except ValueError:
        return "refused"
    raise AssertionError("accepted")


def _probe_memory_hog(machine: Machine) -> str:
    machine.run("for i in $(seq 16); do dd if=/dev/zero of=/dev/null bs=64M count=2 2>/dev/null & done; wait",
                timeout=120)
    peak = resident_mib(machine.pid, "VmHWM")
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"
    return f"16 processes of 64 MiB in 128 MiB: node's peak resident memory {peak:.0f} MiB"


def _stopping_probe(command: str, reason: str) -> Callable[[Machine], str]:
    def probe(machine: Machine) -> str:
        try:
            machine.run(command, timeout=60)
        except MachineError as e:
            assert reason in str(e), str(e)
            return f"MachineError: {e}"
        raise AssertionError("the machine went on")
    return probe


def _probe_self_grown_memory(machine: Machine) -> str:
    program = guest.build_program(GUEST / "grow.c", BUILD / "guest" / "grow.wasm", libc=True)
    machine.write_file("/root/grow", program.read_bytes(), mode=0o755)
    # By env: ash, as POSIX says, runs a file the kernel will not exec as a script.
    r = machine.run("env /root/grow", timeout=60)
    assert "Exec format error" in r.stderr, r
    assert machine.run("echo alive", timeout=30).stdout == "alive\n"
    return "a program with memory.grow is refused (ENOEXEC)"


def _stopped_agent(machine: Machine) -> str:
    """kill -STOP of the agent: a CommandTimeout, then a MachineError for the next request."""
    try:
        machine.run("kill -STOP $PPID; sleep 100", timeout=3)
    except CommandTimeout:
        pass
    try:
        machine.run("true")
    except MachineError as e:
        assert "did not end a killed command" in str(e), str(e)
        return f"CommandTimeout, then MachineError: {e}"
    raise AssertionError("the machine went on")


PROBES: dict[str, Callable[[Machine], str]] = {
    "forged frames": _probe_forged_frames,
    "fork bomb": _probe_fork_bomb,
    "fill /tmp": _probe_fill_tmp,
    "special files": _probe_special_files,
    "NUL in a path": _probe_nul,
    "memory hog": _probe_memory_hog,
    "self-grown memory": _probe_self_grown_memory,
    "stopped agent": _stopped_agent,
    "killed agent": _stopping_probe("kill -9 $PPID", "killed by signal 9"),
    "poweroff": _stopping_probe("poweroff", "powered off"),
}


def _probes(kernel: Path, initramfs: Path, report: SoakReport, tick: Callable[[str], None]) -> None:
    for name, probe in PROBES.items():
        try:
            with Machine(kernel, initramfs, memory_mib=128) as machine:
                report.probes.append(Probe(name, True, probe(machine)))
        except (AssertionError, LinuxWasmError) as e:
            report.probes.append(Probe(name, False, f"{type(e).__name__}: {e}"))
        tick(f"probe {name}")


def soak(kernel: Path, initramfs: Path, boots: int, commands: int, seed: int = 1,
         tick: Callable[[str], None] = lambda line: None) -> SoakReport:
    """Boot boots times, run commands mixed commands in one machine, run every probe."""
    report = SoakReport()
    _boots(kernel, initramfs, boots, report, tick)
    _commands(kernel, initramfs, commands, seed, report, tick)
    _probes(kernel, initramfs, report, tick)
    return report
