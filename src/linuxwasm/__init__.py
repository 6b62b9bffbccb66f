"""linuxwasm: the Linux kernel compiled to WebAssembly, built and run from Python."""

from linuxwasm.errors import LinuxWasmError
from linuxwasm.machine import CommandTimeout, Machine, MachineError, Result

__all__ = ["CommandTimeout", "LinuxWasmError", "Machine", "MachineError", "Result"]
