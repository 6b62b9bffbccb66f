"""Build guest programs (static Wasm user programs) and initramfs images.

A program is built either with musl (the compiler wrapper from musl.py)
or freestanding, with no libc at all.
"""

import subprocess
from pathlib import Path

from linuxwasm import forkable, musl, toolchain
from linuxwasm.errors import LinuxWasmError
from linuxwasm.initramfs import Initramfs
from linuxwasm.paths import BUILD, GUEST, INITRAMFS

# Freestanding programs link with the same user program ABI flags as musl's
# (musl.LINK_FLAGS, runtime/user-abi.js).
FREESTANDING_CFLAGS = ("--target=wasm32-unknown-unknown", "-O2", "-matomics", "-mbulk-memory",
                       "-ffreestanding", "-nostdlib", "-Wall", "-Werror")


def build_program(source: Path, output: Path, libc: bool = False, defines: tuple[str, ...] = ()) -> Path:
    """Compile and link one C file into a user program, if it changed (-D defines)."""
    compiler = musl.build() if libc else Path(toolchain.require(toolchain.CLANG))
    inputs = (source, compiler, *source.parent.glob("*.h"), *(forkable.INPUTS if libc else ()))
    if output.exists() and output.stat().st_mtime >= max(p.stat().st_mtime for p in inputs):
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    flags = [f"-D{define}" for define in defines]
    if libc:
        cmd = [str(compiler), "-Wall", "-Werror", *flags, "-o", str(output), str(source)]
    else:
        cmd = [str(compiler), *FREESTANDING_CFLAGS, *musl.LINK_FLAGS, *flags, "-o", str(output), str(source)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        first = (result.stderr.strip().splitlines() or ["?"])[0]
        raise LinuxWasmError(f"{source.name}: build failed: {first}")
    return output


def build_initramfs(init: Path, output: Path) -> Path:
    """An initramfs whose /init is the given program."""
    image = Initramfs()
    image.add_dir("/dev")
    image.add_char_device("/dev/console", 5, 1)
    image.add_dir("/proc")
    image.add_file_from("/init", init, mode=0o755)
    image.write(output)
    return output


def build(init_source: str = "init.c", output: Path = INITRAMFS, libc: bool = False) -> Path:
    """Build a test initramfs: /init from guest/<init_source>."""
    program = build_program(GUEST / init_source,
                            BUILD / "guest" / Path(init_source).with_suffix(".wasm"), libc)
    return build_initramfs(program, output)
