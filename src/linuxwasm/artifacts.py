"""The artifact cache: built outputs stored under a hash of every input.

A package's key covers its recipe, patches and overlay, the code that
builds it and the toolchain's versions; an unchanged package is not even
looked at again, whichever checkout asks for it.
"""

import hashlib
import shutil
from pathlib import Path

from linuxwasm import toolchain
from linuxwasm.paths import CACHE, REPO
from linuxwasm.recipes import Recipe

ARTIFACTS = CACHE / "artifacts"


def key(recipe: Recipe, code: list[Path], overlay: bool = True) -> str:
    """Hash of a recipe's inputs and the build code (paths relative to the repository).

    overlay=False leaves the recipe's overlay out, for an output that
    depends on only the files of it that code names.
    """
    digest = hashlib.sha256()
    inputs = [recipe.folder / "recipe.toml", *recipe.patches]
    for folder in recipe.overlay if overlay else ():
        inputs += sorted(p for p in (recipe.folder / "overlay" / folder).rglob("*") if p.is_file())
    inputs += [Path(__file__), *code]
    for path in inputs:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    digest.update(toolchain.fingerprint().encode())
    return digest.hexdigest()[:24]


def path(name: str) -> Path:
    """Where the artifact called name lives (it may not exist yet)."""
    return ARTIFACTS / name


def store(source: Path, name: str) -> Path:
    """Copy a finished output into the cache, atomically."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = path(name)
    partial = target.with_name(target.name + ".part")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return target
