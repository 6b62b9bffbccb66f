"""Boot a machine under Node with the host runtime (runtime/node/main.js)."""

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

from linuxwasm import disks as disk_images, net, nodejs, shares as shared_folders
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
    coroutines: bool = True  # all tasks on one host thread where Node has JSPI; else a host thread each
    disks: tuple[disk_images.Disk, ...] = ()  # vda, vdb, ...; one mounted on / replaces the initramfs
    shares: tuple[shared_folders.Share, ...] = ()  # host folders over 9p: share0, share1, ...
    networks: tuple[net.Card, ...] = ()  # network cards: eth0, eth1, ...


# Memory a machine may have, in MiB: less does not boot the system image;
# the kernel is linked for at most 1 GiB (kernel.MAX_MEMORY).
MIN_MEMORY_MIB, MAX_MEMORY_MIB = 32, 1024


def check_memory(memory_mib: int) -> None:
    if not MIN_MEMORY_MIB <= memory_mib <= MAX_MEMORY_MIB:
        raise LinuxWasmError(f"memory {memory_mib} MiB: must be {MIN_MEMORY_MIB} to {MAX_MEMORY_MIB} MiB")


def check_inputs(options: RunOptions) -> None:
    """Fail with one line naming the file if an input cannot be used."""
    check_memory(options.memory_mib)
    if options.timeout < 0:
        raise LinuxWasmError(f"timeout {options.timeout:g} s: must not be negative")
    module = read_module(options.kernel)  # names the file on any format error
    for name in ("boot", "task_entry"):
        module.export(name)
    if options.initramfs is not None and not options.initramfs.is_file():
        raise LinuxWasmError(f"{options.initramfs}: initramfs not found")
    disk_images.check(options.disks)
    shared_folders.check(options.shares)
    net.check(options.networks)
    if len(options.disks) + len(options.shares) > disk_images.MAX_DISKS - len(options.networks):
        raise LinuxWasmError(f"{len(options.disks)} disks, {len(options.shares)} shared folders and "
                             f"{len(options.networks)} network cards: at most {disk_images.MAX_DISKS} together")
    mounts = [d.mount for d in options.disks if d.mount] + [s.mount for s in options.shares]
    for mount in set(mounts):
        if mounts.count(mount) > 1:
            raise LinuxWasmError(f"two disks or shared folders to be mounted on {mount}")


# The V8 flag that turns on JavaScript Promise Integration (JSPI), with
# which all of a machine's tasks run as coroutines on one host thread
# (docs/how-it-works.md); Node 24 still needs it. runtime/node/main.js
# uses only the standard API (WebAssembly.Suspending), not the first
# version that Node 20 has under --experimental-wasm-stack-switching.
JSPI_FLAG = "--experimental-wasm-jspi"
# Each task's stack gets the room a native thread's stack has (in KiB; only
# what is used becomes resident). V8's default, 984 KiB, is less than a
# Node worker thread's 4 MiB: deep recursion would overflow sooner.
STACK_SIZE_FLAG = "--wasm-stack-switching-stack-size"
STACK_SIZE_KIB = 8192


@functools.cache
def stack_switching_flags(node: Path) -> tuple[str, ...]:
    """The flags this node needs for stack switching: none if it has JSPI
    without a flag, or has no JSPI at all (then main.js uses threads)."""
    options = subprocess.run([str(node), "--v8-options"], capture_output=True, text=True).stdout
    flags = [JSPI_FLAG] if f"  {JSPI_FLAG} " in options else []
    if f"  {STACK_SIZE_FLAG} " in options:
        flags.append(f"{STACK_SIZE_FLAG}={STACK_SIZE_KIB}")
    return tuple(flags)


def node_command(options: RunOptions, cables: net.Cables | None = None) -> list[str]:
    """The machine's process; cables are its network cards' (net.cables()), passed with pass_fds."""
    cables = cables or net.Cables()
    node = nodejs.build()
    flags = stack_switching_flags(node) if options.coroutines else ()
    cmdline = " ".join(part for part in (options.cmdline, disk_images.cmdline(options.disks),
                                         shared_folders.cmdline(options.shares), cables.cmdline()) if part)
    cmd = [str(node), *flags, str(NODE_MAIN), "--kernel", str(options.kernel),
           "--cmdline", cmdline, "--memory", str(options.memory_mib),
           "--timeout", str(options.timeout), *disk_images.node_arguments(options.disks),
           *shared_folders.node_arguments(options.shares), *cables.node_arguments()]
    if not options.coroutines:
        cmd.append("--threads")
    if options.initramfs is not None and disk_images.root(options.disks) is None:
        cmd += ["--initrd", str(options.initramfs)]
    return cmd


def run(options: RunOptions) -> int:
    """Boot with the terminal as the console; return the machine's exit status.

    If this process is stopped (Ctrl-C to it, SIGTERM), the machine is too:
    asked first, so that it gives the terminal back as it found it.
    """
    check_inputs(options)
    with (disk_images.locked(options.disks), net.cables(options.networks) as cables,
          subprocess.Popen(node_command(options, cables), pass_fds=cables.fds) as machine):
        try:
            return machine.wait()
        except BaseException:
            machine.terminate()
            try:
                machine.wait(5)
            except subprocess.TimeoutExpired:
                machine.kill()
            raise
