"""Running build commands: output to a log file, progress to the caller."""

import re
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from linuxwasm.errors import LinuxWasmError

Report = Callable[[str], None]

# Lines that name a cause, strongest first: a compiler's or tool's own
# error, a command or file the shell could not find. make's "Error 2" and
# tar's "Error is not recoverable" only say that something below failed.
_CAUSES = (
    re.compile(r"\b(error|fatal error|fatal):\s", re.IGNORECASE),
    re.compile(r"not found|No such file or directory|Cannot exec|Permission denied|cannot execute"),
    re.compile(r"(?<![\w./-])error(?![\w./-])", re.IGNORECASE),
)


def cause(lines: Iterable[str]) -> str | None:
    """The line of a failed command's output that best says why it failed."""
    found: list[str | None] = [None] * len(_CAUSES)
    last = None
    for line in lines:
        line = line.strip()
        if not line:
            continue
        last = line
        for rank, pattern in enumerate(_CAUSES):
            if found[rank] is None and pattern.search(line):
                found[rank] = line
                break
    return next((line for line in found if line is not None), last)


def run(cmd: list[str], *, what: str, log: Path, report: Report,
        cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run cmd, appending its output to log and reporting its progress lines.

    Failure is one line: what failed, the line that names the cause, and the log.
    """
    with log.open("a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        # No build step may ask the terminal anything (kconfig's oldconfig
        # takes the defaults at end of input).
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, errors="replace")
        except OSError as e:
            raise LinuxWasmError(f"{what} failed: cannot run {cmd[0]}: {e.strerror}") from None
        assert proc.stdout is not None
        output = []
        for line in proc.stdout:
            out.write(line)
            output.append(line)
            if line.strip():
                report(line.strip()[:100])
        if proc.wait():
            first = cause(output) or f"exit status {proc.returncode}"
            raise LinuxWasmError(f"{what} failed: {first}; see {log}")
