"""linuxwasm run with no command: the shell on a terminal (a pty), as a user has it."""

import fcntl
import os
import signal
import struct
import sys
import termios
import time

import pytest

from linuxwasm import system
from tests.test_console import Terminal

PROMPT = "root@linuxwasm:~# "


def _set_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


@pytest.fixture
def shell(kernel_image):
    cmd = [sys.executable, "-m", "linuxwasm.cli", "run", "--kernel", str(kernel_image),
           "--initramfs", str(system.build()), "--timeout", "60"]
    term = Terminal(cmd)
    _set_size(term.fd, 30, 100)
    yield term
    term.close()


def test_prompt_and_exit(shell):
    before_prompt = shell.read_until(PROMPT)
    # A quiet boot: the kernel's log is a flag (--verbose) away.
    assert "Linux version" not in before_prompt and "Run /init" not in before_prompt, before_prompt
    shell.type(b"echo $((6 * 7))\r")
    shell.read_until("42\r")
    shell.read_until(PROMPT)
    shell.type(b"exit\r")
    assert shell.exit_status() == 0


def test_ctrl_c_interrupts_the_foreground_job(shell):
    shell.read_until(PROMPT)
    shell.type(b"sleep 100\r")
    shell.read_until("sleep 100\r")
    # Ctrl-C before the shell has made sleep the foreground job would go
    # to the shell, which ignores it.
    time.sleep(1)
    shell.type(b"\x03")
    shell.read_until(PROMPT)
    # As bash does, ash abandons the rest of a command line whose job Ctrl-C
    # ended, so the status is asked for on the next one.
    shell.type(b"echo after $?\r")
    shell.read_until("after 130")
    shell.read_until(PROMPT)
    shell.type(b"poweroff\r")
    assert shell.exit_status() == 0


def test_the_guest_sees_the_terminal_size_and_its_changes(shell):
    shell.read_until(PROMPT)
    shell.type(b"stty size\r")
    shell.read_until("30 100")
    _set_size(shell.fd, 40, 120)
    os.kill(shell.pid, signal.SIGWINCH)  # what a terminal does after a resize
    shell.type(b"stty size\r")
    shell.read_until("40 120")
    shell.type(b"exit\r")
    assert shell.exit_status() == 0


def test_ctrl_c_ends_a_busy_loop(shell):
    """The shell itself loops; Ctrl-C abandons the command line, as in bash."""
    shell.read_until(PROMPT)
    shell.type(b"while :; do :; done; echo not reached\r")
    shell.read_until("not reached\r")
    time.sleep(1)
    shell.type(b"\x03")
    shell.read_until("^C")
    shell.read_until(PROMPT)
    shell.type(b"echo back\r")
    shell.read_until("back\r")
    shell.type(b"exit\r")
    assert shell.exit_status() == 0


def test_ctrl_z_stops_the_job_and_jobs_bg_fg_work(shell):
    shell.read_until(PROMPT)
    shell.type(b"sleep 100\r")
    shell.read_until("sleep 100\r")
    time.sleep(1)  # sleep is the foreground job by now
    shell.type(b"\x1a")
    assert "[1]+  Stopped" in shell.read_until(PROMPT)
    shell.type(b"jobs\r")
    assert "Stopped" in shell.read_until(PROMPT)
    shell.type(b"bg; jobs\r")
    assert "Running" in shell.read_until(PROMPT)
    shell.type(b"fg\r")
    shell.read_until("fg\r")
    time.sleep(1)
    shell.type(b"\x03")
    shell.read_until(PROMPT)
    shell.type(b"echo status=$?; jobs; echo no-more-jobs\r")
    after = shell.read_until(PROMPT).rsplit("no-more-jobs", 1)[0]
    assert "status=130" in after and "sleep" not in after.split("status=130")[1]  # no job left
    shell.type(b"exit\r")
    assert shell.exit_status() == 0


def test_the_console_login_is_recorded(shell):
    shell.read_until(PROMPT)
    shell.type(b"echo who=$(who | grep -c 'root.*hvc0') last=$(last | grep -c '^reboot') $(users)\r")
    shell.read_until("who=1 last=1 root\r")
    shell.read_until(PROMPT)
    shell.type(b"exit\r")
    assert shell.exit_status() == 0
