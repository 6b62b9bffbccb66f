"""Console input: from a pipe, and typed on a terminal (a pty)."""

import os
import pty
import select
import subprocess
import time

import pytest

from linuxwasm import guest, runner


@pytest.fixture(scope="module")
def echo_initramfs(tmp_path_factory):
    return guest.build("echo-init.c", tmp_path_factory.mktemp("echo") / "initramfs.cpio.gz", libc=True)


def test_lines_from_a_pipe_reach_the_guest(kernel_image, echo_initramfs):
    cmd = runner.node_command(runner.RunOptions(kernel=kernel_image, initramfs=echo_initramfs, timeout=30))
    result = subprocess.run(cmd, input="hello from the host\nsecond line\noff\n",
                            capture_output=True, text=True, timeout=60)
    assert "echo: got 'hello from the host'\n" in result.stdout
    assert "echo: got 'second line'\n" in result.stdout
    assert result.returncode == runner.EXIT_POWER_OFF, result.stderr


def _read_until(fd: int, text: str, timeout: float) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no {text!r} within {timeout} s; got {seen.decode(errors='replace')!r}")
        try:
            seen += os.read(fd, 4096)
        except OSError:  # the other side closed
            raise AssertionError(f"ended before {text!r}; got {seen.decode(errors='replace')!r}") from None
    return seen.decode(errors="replace")


def test_keys_typed_on_a_terminal_reach_the_guest(kernel_image, echo_initramfs):
    """The host terminal is raw; the guest's line discipline echoes and maps Enter."""
    cmd = runner.node_command(runner.RunOptions(kernel=kernel_image, initramfs=echo_initramfs, timeout=30))
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(cmd[0], cmd)
    try:
        _read_until(fd, "echo: ready", 30)
        os.write(fd, b"typed\r")
        _read_until(fd, "echo: got 'typed'", 30)
        os.write(fd, b"off\r")
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == runner.EXIT_POWER_OFF
    finally:
        os.close(fd)
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def test_ctrl_a_x_stops_the_machine(kernel_image, echo_initramfs):
    cmd = runner.node_command(runner.RunOptions(kernel=kernel_image, initramfs=echo_initramfs, timeout=30))
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(cmd[0], cmd)
    try:
        _read_until(fd, "echo: ready", 30)
        os.write(fd, b"\x01\x01abc\r")  # Ctrl-A twice: one Ctrl-A reaches the guest
        _read_until(fd, "echo: got '\x01abc'", 30)
        os.write(fd, b"\x01x")
        text = _read_until(fd, "stopped from the terminal", 30)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == runner.EXIT_STOPPED, text
    finally:
        os.close(fd)
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
