"""linuxwasm: the Linux kernel compiled to WebAssembly, built and run from Python."""

from linuxwasm.errors import LinuxWasmError

__all__ = ["LinuxWasmError"]
