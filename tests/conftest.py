"""Shared fixtures: the built kernel (built once per session, from cache)."""

import subprocess
from pathlib import Path

import pytest

from linuxwasm import kernel, runner


@pytest.fixture(scope="session")
def kernel_image() -> Path:
    return kernel.build()


def boot(options: runner.RunOptions, timeout: float = 60) -> subprocess.CompletedProcess:
    """Boot under Node and capture everything; a hard timeout bounds every test."""
    runner.check_inputs(options)
    return subprocess.run(runner.node_command(options), capture_output=True, text=True,
                          timeout=timeout)
