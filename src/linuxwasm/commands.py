"""Running build commands: output to a log file, progress to the caller."""

import subprocess
from collections.abc import Callable
from pathlib import Path

from linuxwasm.errors import LinuxWasmError

Report = Callable[[str], None]


def run(cmd: list[str], *, what: str, log: Path, report: Report,
        cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run cmd, appending its output to log and reporting its progress lines.

    Failure is one line: what failed, the first error line, and the log.
    """
    with log.open("a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        # No build step may ask the terminal anything (kconfig's oldconfig
        # takes the defaults at end of input).
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        errors = []
        for line in proc.stdout:
            out.write(line)
            if "error" in line.lower():
                errors.append(line.strip())
            elif line.strip():
                report(line.strip()[:100])
        if proc.wait():
            first = errors[0] if errors else f"exit status {proc.returncode}"
            raise LinuxWasmError(f"{what} failed: {first}; see {log}")
