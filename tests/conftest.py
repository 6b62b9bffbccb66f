"""Shared fixtures: the built kernel (built once per session, from cache)."""

import os
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With LINUXWASM_NO_SKIPS=1 (the fresh-Debian check), a skipped test fails:
    there, a missing tool is a step the Makefile forgot, not a reason to skip."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("LINUXWASM_NO_SKIPS") == "1" and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped where nothing may be: {report.longrepr}"
