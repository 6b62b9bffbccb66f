"""Boot a machine under Node with the host runtime (runtime/node/main.js)."""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import RUNTIME
from linuxwasm.wasm import read_module

NODE_MAIN = RUNTIME / "node" / "main.js"

# Exit statuses of runtime/node/main.js, as documented there.
EXIT_POWER_OFF, EXIT_PANIC, EXIT_TRAP, EXIT_HOST, EXIT_TIMEOUT, EXIT_STOPPED = 0, 1, 2, 3, 124, 130


@dataclass(frozen=True)
class RunOptions:
    kernel: Path
    initramfs: Path | None
    cmdline: str = "console=hvc0"
    memory_mib: int = 128
    timeout: float = 0  # seconds; 0 for none


def check_inputs(options: RunOptions) -> None:
    """Fail with one line naming the file if an input cannot be used."""
    module = read_module(options.kernel)  # names the file on any format error
    for name in ("boot", "task_entry"):
        module.export(name)
    if options.initramfs is not None and not options.initramfs.is_file():
        raise LinuxWasmError(f"{options.initramfs}: initramfs not found")


def node_command(options: RunOptions) -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise LinuxWasmError("node not found: install Node.js 20 or newer (run 'make deps')")
    cmd = [node, str(NODE_MAIN), "--kernel", str(options.kernel),
           "--cmdline", options.cmdline, "--memory", str(options.memory_mib),
           "--timeout", str(options.timeout)]
    if options.initramfs is not None:
        cmd += ["--initrd", str(options.initramfs)]
    return cmd


def run(options: RunOptions) -> int:
    """Boot with the terminal as the console; return the machine's exit status."""
    check_inputs(options)
    return subprocess.run(node_command(options)).returncode
