"""The host's side of the memory tests: what a machine's process holds."""

from pathlib import Path


def rss_mib(pid: int) -> float:
    """The resident memory of the process pid, in MiB (Linux's /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024
