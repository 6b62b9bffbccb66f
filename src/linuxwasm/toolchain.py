"""The stock LLVM 19 toolchain from Debian, found or reported missing."""

import os
import shutil
import subprocess
from functools import cache

from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import BUILD, CACHE

CLANG = "clang-19"
WASM_LD = "wasm-ld-19"
LLVM_AR = "llvm-ar-19"
LLVM_RANLIB = "llvm-ranlib-19"


# The Debian package of each host tool a build stage runs (the Makefile's
# APT_PACKAGES installs them all).
PACKAGE_OF = {CLANG: "clang-19", WASM_LD: "lld-19", LLVM_AR: "llvm-19", LLVM_RANLIB: "llvm-19"}


def require(tool: str) -> str:
    """Full path of tool, or a one-line error saying how to get it."""
    path = shutil.which(tool)
    if path is None:
        raise LinuxWasmError(f"{tool} not found: run 'make deps' (Debian package {PACKAGE_OF.get(tool, tool)})")
    return path


@cache
def fingerprint() -> str:
    """The versions of the tools, part of every build cache key."""
    lines = []
    for tool in (CLANG, WASM_LD):
        out = subprocess.run([require(tool), "--version"], capture_output=True, text=True).stdout
        lines.append(out.splitlines()[0] if out else tool)
    return "\n".join(lines)


def compiler() -> str:
    """The C compiler command, through ccache when it is installed."""
    return f"ccache {CLANG}" if shutil.which("ccache") else CLANG


def build_env() -> dict[str, str]:
    """The environment for builds: one ccache shared by every checkout."""
    env = dict(os.environ)
    env.setdefault("CCACHE_DIR", str(CACHE / "ccache"))
    env["CCACHE_BASEDIR"] = str(BUILD)
    env["CCACHE_NOHASHDIR"] = "1"
    return env
