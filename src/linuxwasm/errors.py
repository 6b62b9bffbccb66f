"""The one exception type the package raises for problems a user can act on."""


class LinuxWasmError(Exception):
    """An error whose message is a complete, one-line explanation for the user."""
