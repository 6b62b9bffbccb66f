"""Progress of long work on stderr: a live line on a terminal, plain lines elsewhere.

On a terminal a rich status line shows the latest output of the stage. In
a log (CI, a file) a stage that does any work prints one line when it
starts, one a minute with the latest thing it reported, and one when it
ends, so that a log shows where a build is without thousands of compiler
lines; a stage with nothing to do prints nothing.
"""

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape

from linuxwasm.commands import Report

stderr = Console(stderr=True)


@contextmanager
def stage(title: str, *, interactive: bool | None = None, every: float = 60.0) -> Iterator[Report]:
    """Show that the stage called title runs; yields the function its work reports lines to."""
    if stderr.is_terminal if interactive is None else interactive:
        with stderr.status(title) as status:
            yield lambda line: status.update(f"{title}: {escape(line)}")
        return
    started = time.monotonic()
    latest = ""
    announced = False
    done = threading.Event()

    def announce() -> None:
        nonlocal announced
        if not announced:
            announced = True
            print(f"{title} ...", file=sys.stderr, flush=True)

    def heartbeat() -> None:
        while not done.wait(every):
            announce()
            minutes = (time.monotonic() - started) / 60
            print(f"{title}: {minutes:.0f} min{': ' + latest if latest else ''}", file=sys.stderr, flush=True)

    def report(line: str) -> None:
        nonlocal latest
        announce()
        latest = line

    beating = threading.Thread(target=heartbeat, daemon=True)
    beating.start()
    try:
        yield report
    finally:
        done.set()
        beating.join()
    if announced:
        elapsed = time.monotonic() - started
        print(f"{title}: done in {elapsed:.0f} s", file=sys.stderr, flush=True)
