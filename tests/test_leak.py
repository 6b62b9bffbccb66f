"""Thousands of short-lived processes in one boot do not leak host memory."""

import subprocess
import time
from pathlib import Path

import pytest

from linuxwasm import guest, runner


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024


def _wait_for(proc: subprocess.Popen, text: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(text):
            return line
    raise AssertionError(f"the machine ended before {text!r}")


@pytest.mark.xfail(
    reason="known host-side growth: over 2000 processes the Node process sometimes grows by "
           "up to ~120 MiB, sometimes stays flat, while the guest kernel's free memory stays flat "
           "(/proc/meminfo in the guest); per-exec user memories and instances are the suspects, "
           "and forcing garbage collection does not stop it",
    strict=False,
)
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
            rss.append(_rss_mib(proc.pid))
        proc.stdin.write("off\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == runner.EXIT_POWER_OFF
    finally:
        proc.kill()
        proc.wait()
    assert rss[-1] - rss[0] < 64, f"host memory over 5 rounds of 500 processes: {rss} MiB"
