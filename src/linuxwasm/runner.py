"""Boot a machine under Node with the host runtime (runtime/node/main.js)."""

import functools
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
    coroutines: bool = False  # all tasks on one host thread (JSPI); else a host thread each


def check_inputs(options: RunOptions) -> None:
    """Fail with one line naming the file if an input cannot be used."""
    module = read_module(options.kernel)  # names the file on any format error
    for name in ("boot", "task_entry"):
        module.export(name)
    if options.initramfs is not None and not options.initramfs.is_file():
        raise LinuxWasmError(f"{options.initramfs}: initramfs not found")


# V8 flags that turn on stack switching (JavaScript Promise Integration),
# which runs all of a machine's tasks on one host thread: the current name
# first, then the first version's (Node 20). Not yet the default: it boots
# in a third of the time and half the memory, but each process costs more
# (see docs/how-it-works.md).
STACK_SWITCHING_FLAGS = ("--experimental-wasm-jspi", "--experimental-wasm-stack-switching")
# Each task's stacks get the room a native thread's stack has (in KiB; only
# what is used becomes resident). V8's default, 984 KiB, is less than a
# Node worker thread's 4 MiB: deep recursion would overflow sooner.
STACK_SIZE_FLAG = "--wasm-stack-switching-stack-size"
STACK_SIZE_KIB = 8192


@functools.cache
def stack_switching_flags(node: str) -> tuple[str, ...]:
    """The flags this node needs for stack switching; none if it cannot."""
    options = subprocess.run([node, "--v8-options"], capture_output=True, text=True).stdout
    switching = next((flag for flag in STACK_SWITCHING_FLAGS if f"  {flag} " in options), None)
    if switching is None:
        return ()
    if f"  {STACK_SIZE_FLAG} " in options:
        return (switching, f"{STACK_SIZE_FLAG}={STACK_SIZE_KIB}")
    return (switching,)


def node_command(options: RunOptions) -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise LinuxWasmError("node not found: install Node.js 20 or newer (run 'make deps')")
    flags = stack_switching_flags(node) if options.coroutines else ()
    cmd = [node, *flags, str(NODE_MAIN), "--kernel", str(options.kernel),
           "--cmdline", options.cmdline, "--memory", str(options.memory_mib),
           "--timeout", str(options.timeout)]
    if options.initramfs is not None:
        cmd += ["--initrd", str(options.initramfs)]
    return cmd


def run(options: RunOptions) -> int:
    """Boot with the terminal as the console; return the machine's exit status."""
    check_inputs(options)
    return subprocess.run(node_command(options)).returncode
