"""The Node.js that runs machines and the build's JavaScript tools.

Machines run their tasks as coroutines (runtime/coroutines.js) with
JavaScript Promise Integration. Debian 12's Node 20 has only the first
version of it, whose stacks keep about 100 bytes per task switch until
their call returns: a pipeline of two busy processes grew by 10 MB a
second. Node 24 has the standard API, without that, and switches several
times faster: the build fetches it (packages/node, pinned), on x86-64
Linux. Elsewhere the system's node runs machines, a host thread per task
unless it has the standard API.
"""

import platform
import shutil
from pathlib import Path

from linuxwasm import commands, recipes, sources
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import BUILD

TREE = BUILD / "node"


def _pinned() -> bool:
    return platform.system() == "Linux" and platform.machine() == "x86_64"


def build(report: commands.Report = lambda line: None) -> Path:
    """The node executable: the pinned one, fetched and unpacked if needed."""
    if not _pinned():
        system_node = shutil.which("node")
        if system_node is None:
            raise LinuxWasmError("node not found: install Node.js 24 (or 20, slower) for this machine")
        return Path(system_node)
    recipe = recipes.load("node")
    if sources.prepare_tree(recipe, TREE):
        report(f"unpacked Node.js {recipe.version}")
    return TREE / "bin" / "node"
