"""linuxwasm run -c: boot, run one command, copy files out, power off.

The command's output goes to the host's stdout and stderr as it comes,
and the host's stdin, unless it is a terminal, to the command's; the exit
status is the command's (124 if --timeout ended it, 125 if the machine
itself failed, as `timeout` and `docker run` do; 141, SIGPIPE's, if the
host's stdout was closed, as by `| head`).
"""

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from linuxwasm import copies, disks, net, shares, system
from linuxwasm.errors import LinuxWasmError
from linuxwasm.machine import CommandTimeout, Machine

EXIT_TIMEOUT = 124
EXIT_MACHINE_FAILED = 125
EXIT_BROKEN_PIPE = 128 + 13


def host_input() -> BinaryIO | None:
    """The host's stdin for the command, unless it is a terminal (or closed)."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    return sys.stdin.buffer


def _write(stream: BinaryIO) -> Callable[[bytes], None]:
    """Output as it comes, unbuffered."""
    def write(data: bytes) -> None:
        stream.write(data)
        stream.flush()
    return write


def run(command: str, kernel: Path, initramfs: Path, copy_in: list[copies.Copy],
        copy_out: list[copies.Copy], memory_mib: int, timeout: float, verbose: bool,
        cmdline: str = "", attached: tuple[disks.Disk, ...] = (),
        folders: tuple[shares.Share, ...] = (), cards: tuple[net.Card, ...] = ()) -> int:
    with tempfile.TemporaryDirectory(prefix="linuxwasm-") as scratch:
        image = copies.initramfs_with(initramfs, copy_in, Path(scratch), frozenset(system.DIRECTORIES))
        try:
            with Machine(kernel, image, memory_mib=memory_mib, verbose=verbose, cmdline=cmdline,
                         disks=attached, shares=folders, net=cards[0] if cards else False) as machine:
                for notice in machine.notices:
                    print(f"linuxwasm: guest: {notice}", file=sys.stderr)
                try:
                    result = machine.run(command, timeout or None, input=host_input(),
                                         on_stdout=_write(sys.stdout.buffer),
                                         on_stderr=_write(sys.stderr.buffer))
                except CommandTimeout as e:
                    print(f"linuxwasm: {e}", file=sys.stderr)
                    return EXIT_TIMEOUT
                except BrokenPipeError:
                    # The reader has gone: no more output, and none at exit.
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                    return EXIT_BROKEN_PIPE
                status = result.exit_code
                for copy in copy_out:
                    try:
                        copy.host.write_bytes(machine.read_file(copy.guest))
                    except (LinuxWasmError, OSError) as e:
                        print(f"linuxwasm: --copy-out {copy.guest}: {e}", file=sys.stderr)
                        status = status or 1
                return status
        except LinuxWasmError as e:
            print(f"linuxwasm: {e}", file=sys.stderr)
            return EXIT_MACHINE_FAILED
