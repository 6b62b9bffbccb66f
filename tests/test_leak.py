"""Thousands of short-lived processes in one boot do not leak host memory."""

import subprocess
import time

from linuxwasm import guest, runner
from tests.host_memory import rss_mib


def _wait_for(proc: subprocess.Popen, text: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(text):
            return line
    raise AssertionError(f"the machine ended before {text!r}")

def test_processes_do_not_leak_host_memory(kernel_image, tmp_path):
    """Five rounds of 500 processes; memory after the last against after the first.

    The first round fills the thread pool and the compiled-program cache;
    after it, 2000 more processes may move the figure only by what garbage
    collection leaves lying around, far less than a leak of even 32 KiB a
    process would.
    """
    initramfs = guest.build("spawn-init.c", tmp_path / "initramfs.cpio.gz", libc=True)
    cmd = runner.node_command(runner.RunOptions(kernel=kernel_image, initramfs=initramfs, timeout=300))
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    rss = []
    try:
        _wait_for(proc, "spawn: ready")
        for _ in range(5):
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert _wait_for(proc, "spawn: done").strip() == "spawn: done 500"
            time.sleep(0.5)
            rss.append(rss_mib(proc.pid))
        proc.stdin.write("off\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == runner.EXIT_POWER_OFF
    finally:
        proc.kill()
        proc.wait()
    assert rss[-1] - rss[0] < 64, f"host memory over 5 rounds of 500 processes: {rss} MiB"

def _guest_mem_available_kib(machine) -> int:
    meminfo = machine.read_file("/proc/meminfo").decode()
    return int(next(line for line in meminfo.splitlines() if line.startswith("MemAvailable:")).split()[1])

def test_500_shell_commands_do_not_leak(kernel_image):
    """500 commands (a pipeline, a redirection, a read: four processes each) in one boot.

    Measured after 50 commands that fill the thread pool and the caches:
    the guest's available memory must come back, and the host's memory
    must not grow by anything like a leak per process (1,500 processes:
    even 32 KiB each would be 47 MiB).
    """
    from linuxwasm import Machine, system

    with Machine(kernel_image, system.build()) as machine:
        def commands(count: int) -> None:
            for i in range(count):
                r = machine.run(f"echo {i} | cat > /tmp/x; cat /tmp/x")
                assert (r.exit_code, r.stdout) == (0, f"{i}\n"), r

        commands(50)
        guest_before, host_before = _guest_mem_available_kib(machine), rss_mib(machine.pid)
        commands(500)
        guest_after, host_after = _guest_mem_available_kib(machine), rss_mib(machine.pid)
    assert guest_before - guest_after < 1024, f"guest MemAvailable {guest_before} -> {guest_after} KiB"
    print(f"host RSS {host_before:.0f} -> {host_after:.0f} MiB, guest MemAvailable {guest_before} -> {guest_after} KiB")
    assert host_after - host_before < 32, f"host RSS {host_before:.0f} -> {host_after:.0f} MiB"
