"""linuxwasm: the Linux kernel compiled to WebAssembly, built and run from Python."""

from linuxwasm.errors import LinuxWasmError
from linuxwasm.machine import CommandTimeout, Machine, MachineError, OutputTooLarge, Result

__all__ = ["CommandTimeout", "LinuxWasmError", "Machine", "MachineError", "OutputTooLarge", "Result"]
