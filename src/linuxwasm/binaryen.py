"""Binaryen's wasm-opt, which makes programs that fork rewindable (forkable.py).

The npm package, pinned (packages/binaryen): wasm-opt compiled to Wasm,
so it runs with the build's Node on any host.
"""

from pathlib import Path

from linuxwasm import recipes, sources
from linuxwasm.paths import BUILD

TREE = BUILD / "binaryen"


def wasm_opt() -> Path:
    """The wasm-opt script, for the build's node; fetched and unpacked if needed."""
    sources.prepare_tree(recipes.load("binaryen"), TREE)
    return TREE / "bin" / "wasm-opt"
