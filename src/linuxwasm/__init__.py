"""linuxwasm: the Linux kernel compiled to WebAssembly, built and run from Python."""

from linuxwasm.errors import LinuxWasmError
from linuxwasm.machine import CommandTimeout, Machine, MachineError, OutputTooLarge, Result
from linuxwasm.net import Nat, Publish
from linuxwasm.switch import Network

__all__ = ["CommandTimeout", "LinuxWasmError", "Machine", "MachineError", "Nat", "Network", "OutputTooLarge",
           "Publish", "Result"]
