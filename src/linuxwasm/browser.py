"""Headless Chromium on the page, for tests and benchmarks (Playwright).

Debian's Chromium is used as it is (no browser download); Playwright is a
test dependency, imported only here.
"""

import importlib.util
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from linuxwasm.errors import LinuxWasmError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")

# Headless, and nothing that reaches out to Google's services: this
# machine's network is closed, and a benchmark should not share the CPU.
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]

# The shell's prompt (system/etc/profile: PS1) at the end of a line.
PROMPT = re.compile(r"[#$]$")


def available() -> str | None:
    """Why the browser cannot be driven here; None if it can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: apt-get install chromium ('make test' installs it)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright not installed: pip install -e '.[test]' ('make test' installs it)"
    return None


@contextmanager
def chromium() -> Iterator["Browser"]:
    """A headless Debian Chromium, closed at the end."""
    problem = available()
    if problem:
        raise LinuxWasmError(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screen_lines(page: "Page") -> list[str]:
    """The terminal's text, scrollback included, as the page's xterm.js has it."""
    return page.evaluate("linuxwasm.screenText()").split("\n")


def wait_for_prompt(page: "Page", timeout: float = 30) -> None:
    page.wait_for_function(
        "() => globalThis.linuxwasm?.terminal && /[#$]$/.test(linuxwasm.screenText().split('\\n').at(-1))",
        timeout=timeout * 1000)


def run_command(page: "Page", command: str, timeout: float = 30) -> list[str]:
    """Type command at the prompt; the lines it printed, up to the next prompt."""
    before = len(screen_lines(page))
    page.keyboard.type(command + "\n")
    page.wait_for_function(
        f"() => {{ const lines = linuxwasm.screenText().split('\\n');"
        f" return lines.length > {before} && /[#$]$/.test(lines.at(-1)); }}",
        timeout=timeout * 1000)
    return screen_lines(page)[before:-1]

