"""Shared fixtures: the built kernel (built once per session, from cache)."""

import subprocess
from pathlib import Path

import pytest

from linuxwasm import guest, kernel, runner


@pytest.fixture(scope="session")
def kernel_image() -> Path:
    return kernel.build()


def boot(options: runner.RunOptions, timeout: float = 60) -> subprocess.CompletedProcess:
    """Boot under Node and capture everything; a hard timeout bounds every test."""
    runner.check_inputs(options)
    return subprocess.run(runner.node_command(options), capture_output=True, text=True,
                          timeout=timeout)


def boot_program(kernel_image: Path, tmp_path: Path, source: str, libc: bool = False,
                 timeout: float = 60, coroutines: bool = True) -> subprocess.CompletedProcess:
    """Boot with guest/<source> as /init; musl-built if libc; a host thread per task if not coroutines."""
    initramfs = guest.build(source, tmp_path / "initramfs.cpio.gz", libc=libc)
    return boot(runner.RunOptions(kernel=kernel_image, initramfs=initramfs, timeout=timeout,
                                  coroutines=coroutines), timeout=timeout + 30)


_SUMMARY: list[str] = []


@pytest.fixture(scope="session")
def testsuite_summary() -> list[str]:
    """Lines for the end of the test run (counts of a testsuite run in the guest)."""
    return _SUMMARY


def pytest_terminal_summary(terminalreporter) -> None:
    for line in _SUMMARY:
        terminalreporter.write_line(line)
