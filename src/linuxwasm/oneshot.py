"""linuxwasm run -c: boot, run one command, copy files out, power off.

The command's output goes to the host's stdout and stderr as it comes;
the exit status is the command's (124 if --timeout ended it, 125 if the
machine itself failed, as `timeout` and `docker run` do).
"""

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from linuxwasm import copies, system
from linuxwasm.errors import LinuxWasmError
from linuxwasm.machine import CommandTimeout, Machine

EXIT_TIMEOUT = 124
EXIT_MACHINE_FAILED = 125


def _write(stream: BinaryIO) -> Callable[[bytes], None]:
    """Output as it comes, unbuffered."""
    def write(data: bytes) -> None:
        stream.write(data)
        stream.flush()
    return write


def run(command: str, kernel: Path, initramfs: Path, copy_in: list[copies.Copy],
        copy_out: list[copies.Copy], memory_mib: int, timeout: float, verbose: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="linuxwasm-") as scratch:
        image = copies.initramfs_with(initramfs, copy_in, Path(scratch), frozenset(system.DIRECTORIES))
        try:
            with Machine(kernel, image, memory_mib=memory_mib, verbose=verbose) as machine:
                try:
                    result = machine.run(command, timeout or None, on_stdout=_write(sys.stdout.buffer),
                                         on_stderr=_write(sys.stderr.buffer))
                except CommandTimeout as e:
                    print(f"linuxwasm: {e}", file=sys.stderr)
                    return EXIT_TIMEOUT
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
