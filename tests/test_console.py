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


class Terminal:
    """A machine on a pty, as a user at a terminal has it."""

    def __init__(self, cmd: list[str]):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(cmd[0], cmd)
        self.unread = b""

    def read_until(self, text: str, timeout: float = 30) -> str:
        """The output up to the end of text; what came after it is left for the next call."""
        wanted = text.encode()
        deadline = time.monotonic() + timeout
        while wanted not in self.unread:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"no {text!r} within {timeout} s; got {self._text(self.unread)!r}")
            try:
                self.unread += os.read(self.fd, 4096)
            except OSError:  # the other side closed
                raise AssertionError(f"ended before {text!r}; got {self._text(self.unread)!r}") from None
        end = self.unread.index(wanted) + len(wanted)
        seen, self.unread = self.unread[:end], self.unread[end:]
        return self._text(seen)

    @staticmethod
    def _text(data: bytes) -> str:
        return data.decode(errors="replace")

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def exit_status(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        return os.WEXITSTATUS(status)

    def close(self) -> None:
        os.close(self.fd)
        if self.pid:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)


@pytest.fixture
def terminal(kernel_image, echo_initramfs):
    cmd = runner.node_command(runner.RunOptions(kernel=kernel_image, initramfs=echo_initramfs, timeout=30))
    term = Terminal(cmd)
    yield term
    term.close()


def test_keys_typed_on_a_terminal_reach_the_guest(terminal):
    """The host terminal is raw; the guest's line discipline echoes and maps Enter."""
    terminal.read_until("echo: ready")
    terminal.type(b"typed\r")
    terminal.read_until("echo: got 'typed'")
    terminal.type(b"off\r")
    assert terminal.exit_status() == runner.EXIT_POWER_OFF


def test_ctrl_a_x_stops_the_machine(terminal):
    terminal.read_until("echo: ready")
    terminal.type(b"\x01\x01abc\r")  # Ctrl-A twice: one Ctrl-A reaches the guest
    terminal.read_until("echo: got '\x01abc'")
    terminal.type(b"\x01x")
    text = terminal.read_until("stopped from the terminal")
    assert terminal.exit_status() == runner.EXIT_STOPPED, text
