"""Package recipes: packages/NAME/recipe.toml, read with a strict schema."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import PACKAGES


@dataclass(frozen=True)
class Source:
    """A pinned download: a Debian package holding the upstream tarball."""

    url: str
    sha256: str
    member: str
    member_sha256: str
    strip: str


@dataclass(frozen=True)
class Recipe:
    name: str
    version: str
    license: str
    source: Source
    patches: tuple[Path, ...]
    overlay: tuple[str, ...]  # folders of the tree that are ours entirely
    folder: Path


_TOP = {"name", "version", "license", "source", "build"}
_SOURCE = {"url", "sha256", "member", "member_sha256", "strip"}
_BUILD = {"patches", "overlay"}


def _check_keys(table: object, allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise LinuxWasmError(f"{where}: must be a table")
    unknown = set(table) - allowed
    if unknown:
        raise LinuxWasmError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    missing = allowed - set(table)
    if missing:
        raise LinuxWasmError(f"{where}: missing key(s) {', '.join(sorted(missing))}")


def _check_type(value: object, kind: type, where: str) -> None:
    if not isinstance(value, kind):
        raise LinuxWasmError(f"{where}: must be a {'string' if kind is str else kind.__name__}")


def load(name: str, root: Path = PACKAGES) -> Recipe:
    """Read packages/NAME/recipe.toml; any schema problem is a one-line error."""
    folder = root / name
    path = folder / "recipe.toml"
    try:
        data = tomllib.loads(path.read_text())
    except OSError as e:
        raise LinuxWasmError(f"{path}: cannot read recipe ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise LinuxWasmError(f"{path}: not valid TOML ({e})") from None
    _check_keys(data, _TOP, str(path))
    _check_keys(data["source"], _SOURCE, f"{path} [source]")
    _check_keys(data["build"], _BUILD, f"{path} [build]")
    for key in ("name", "version", "license"):
        _check_type(data[key], str, f"{path}: {key}")
    for key, value in data["source"].items():
        _check_type(value, str, f"{path} [source] {key}")
    for key in ("patches", "overlay"):
        _check_type(data["build"][key], list, f"{path} [build] {key}")
        for item in data["build"][key]:
            _check_type(item, str, f"{path} [build] {key} entry")
    patches = tuple(folder / "patches" / p for p in data["build"]["patches"])
    for patch in patches:
        if not patch.is_file():
            raise LinuxWasmError(f"{path}: patch {patch.name} is listed but missing")
    return Recipe(
        name=data["name"],
        version=data["version"],
        license=data["license"],
        source=Source(**data["source"]),
        patches=patches,
        overlay=tuple(data["build"]["overlay"]),
        folder=folder,
    )
