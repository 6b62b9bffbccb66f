"""Package recipes: packages/NAME/recipe.toml, read with a strict schema."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import PACKAGES


@dataclass(frozen=True)
class Source:
    """A pinned download: the upstream tarball, or a Debian package holding it (member)."""

    url: str
    sha256: str
    strip: str
    member: str | None = None
    member_sha256: str | None = None


@dataclass(frozen=True)
class DebianPatches:
    """Debian's packaging tarball: the patches its debian/patches/series lists go first."""

    url: str
    sha256: str


@dataclass(frozen=True)
class Recipe:
    name: str
    version: str
    license: str
    source: Source
    patches: tuple[Path, ...]
    overlay: tuple[str, ...]  # folders of the tree that are ours entirely
    shared: dict[str, str]  # files of our folders copied from elsewhere in the tree
    folder: Path
    debian: DebianPatches | None = None


_TOP = {"name", "version", "license", "source", "build"}
_TOP_OPTIONAL = {"debian"}
_SOURCE = {"url", "sha256", "strip"}
_SOURCE_OPTIONAL = {"member", "member_sha256"}
_BUILD = {"patches", "overlay"}
_BUILD_OPTIONAL = {"shared"}


def _check_keys(table: object, required: set[str], where: str, optional: frozenset[str] = frozenset()) -> None:
    if not isinstance(table, dict):
        raise LinuxWasmError(f"{where}: must be a table")
    unknown = set(table) - required - optional
    if unknown:
        raise LinuxWasmError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    missing = required - set(table)
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
    _check_keys(data, _TOP, str(path), frozenset(_TOP_OPTIONAL))
    debian = None
    if "debian" in data:
        _check_keys(data["debian"], {"url", "sha256"}, f"{path} [debian]")
        for key, value in data["debian"].items():
            _check_type(value, str, f"{path} [debian] {key}")
        debian = DebianPatches(**data["debian"])
    _check_keys(data["source"], _SOURCE, f"{path} [source]", frozenset(_SOURCE_OPTIONAL))
    _check_keys(data["build"], _BUILD, f"{path} [build]", frozenset(_BUILD_OPTIONAL))
    if ("member" in data["source"]) != ("member_sha256" in data["source"]):
        raise LinuxWasmError(f"{path} [source]: member and member_sha256 go together")
    shared = data["build"].get("shared", {})
    _check_type(shared, dict, f"{path} [build] shared")
    for key, value in shared.items():
        _check_type(value, str, f"{path} [build] shared {key}")
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
    # A patch file that the list forgets would be left out without a word.
    unlisted = sorted(set((folder / "patches").glob("*.patch")) - set(patches))
    if unlisted:
        raise LinuxWasmError(f"{path}: patch {unlisted[0].name} is in patches/ but not listed")
    return Recipe(
        name=data["name"],
        version=data["version"],
        license=data["license"],
        source=Source(**data["source"]),
        debian=debian,
        patches=patches,
        overlay=tuple(data["build"]["overlay"]),
        shared=dict(shared),
        folder=folder,
    )
