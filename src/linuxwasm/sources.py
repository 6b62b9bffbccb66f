"""Fetch, verify and unpack pinned upstream sources, then patch them.

Stages, each with its own check so that a re-run does no work: download
into the shared cache (verified; a mismatch deletes the file and fails),
extract the tarball from the Debian package (verified too), unpack it into
a tree with a stamp, apply the recipe's patches in order.
"""

import base64
import hashlib
import http.client
import lzma
import shutil
import subprocess
import tarfile
import urllib.request
from pathlib import Path

from linuxwasm import commands
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import CACHE
from linuxwasm.recipes import Recipe

DOWNLOADS = CACHE / "downloads"
NPM_REGISTRY = "https://registry.npmjs.org"


def _digest(path: Path, algorithm: str) -> "hashlib._Hash":
    digest = hashlib.new(algorithm)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest


def sha256_file(path: Path) -> str:
    return _digest(path, "sha256").hexdigest()


def integrity_of(path: Path) -> str:
    """The file's hash in the form npm's lockfiles pin packages by (Subresource Integrity)."""
    return "sha512-" + base64.b64encode(_digest(path, "sha512").digest()).decode()


def _verify(path: Path, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        path.unlink()
        raise LinuxWasmError(
            f"{path.name}: checksum mismatch (expected sha256 {expected}, got {actual}); "
            "the file was deleted, run the build again to download it anew"
        )


def fetch(url: str, sha256: str, downloads: Path | None = None) -> Path:
    """Return the cached, verified file for url, downloading it if needed."""
    downloads = DOWNLOADS if downloads is None else downloads
    path = downloads / url.rsplit("/", 1)[-1]
    if path.exists() and sha256_file(path) == sha256:
        return path
    _download(url, path)
    _verify(path, sha256)
    return path


def fetch_npm(name: str, version: str, integrity: str, downloads: Path | None = None) -> Path:
    """The cached, verified tarball of an npm package, as a lockfile pins it.

    Straight from the npm registry, with no npm: Debian 12's nodejs has
    none, and the lockfile's integrity hash is the whole check npm makes.
    """
    downloads = DOWNLOADS if downloads is None else downloads
    base = name.rsplit("/", 1)[-1]
    url = f"{NPM_REGISTRY}/{name}/-/{base}-{version}.tgz"
    path = downloads / f"npm-{name.replace('/', '-').lstrip('@')}-{version}.tgz"
    if path.exists() and integrity_of(path) == integrity:
        return path
    _download(url, path)
    if (actual := integrity_of(path)) != integrity:
        path.unlink()
        raise LinuxWasmError(f"{path.name}: integrity mismatch (expected {integrity}, got {actual}); "
                             "the file was deleted, run the build again to download it anew")
    return path


def _download(url: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (OSError, ValueError, http.client.HTTPException) as e:
        partial.unlink(missing_ok=True)
        raise LinuxWasmError(f"cannot download {url}: {e}") from None
    partial.replace(path)


def unpack(tarball: Path, destination: Path, strip: int = 0) -> None:
    """Unpack a verified tarball into destination, without its first strip folders.

    GNU tar, as for the sources: Python's tarfile has no extraction filter
    before 3.11.4 (Debian 12 has 3.11.2). GNU tar keeps members inside
    destination (it drops leading '/' and refuses '..') and, with
    --no-same-owner, gives them our owner.
    """
    destination.mkdir(parents=True, exist_ok=True)
    _run(["tar", "-xf", str(tarball), "-C", str(destination), "--no-same-owner",
          f"--strip-components={strip}"], f"unpack {tarball.name}")


def deb_data_member(deb: Path) -> tuple[int, int, str]:
    """Offset, size and name of data.tar.* inside a .deb (an ar archive)."""
    with deb.open("rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise LinuxWasmError(f"{deb}: not a Debian package")
        while header := f.read(60):
            try:
                if len(header) < 60:
                    raise ValueError
                name = header[:16].decode().strip().rstrip("/")
                size = int(header[48:58])
            except ValueError:  # UnicodeDecodeError included
                raise LinuxWasmError(f"{deb}: corrupt ar archive") from None
            if name.startswith("data.tar"):
                return f.tell(), size, name
            f.seek(size + (size & 1), 1)
    raise LinuxWasmError(f"{deb}: no data.tar member")


def extract_from_deb(deb: Path, member: str, sha256: str) -> Path:
    """Extract one file of a .deb's data archive next to it, verified."""
    out = deb.parent / Path(member).name
    if out.exists() and sha256_file(out) == sha256:
        return out
    offset, size, name = deb_data_member(deb)
    if not name.endswith(".xz"):
        raise LinuxWasmError(f"{deb}: unsupported data member {name}")
    with deb.open("rb") as f:
        f.seek(offset)
        with lzma.open(f) as data, tarfile.open(fileobj=data, mode="r|") as tar:
            for info in tar:
                if info.name.removeprefix("./") == member:
                    partial = out.with_suffix(".part")
                    with tar.extractfile(info) as src, partial.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    partial.replace(out)
                    break
            else:
                raise LinuxWasmError(f"{deb}: no {member} inside")
    _verify(out, sha256)
    return out


def prepare_tree(recipe: Recipe, tree: Path) -> bool:
    """Make tree the recipe's pristine source with its patches applied.

    Returns True when the tree was (re)made. The stamp names the source and
    the patches' contents, so any change to either gives a fresh tree.
    """
    stamp_value = (recipe.source.member_sha256 or recipe.source.sha256) + "".join(
        sha256_file(p) for p in recipe.patches
    ) + (recipe.debian.sha256 if recipe.debian else "")
    stamp = tree / ".linuxwasm-stamp"
    if stamp.exists() and stamp.read_text() == stamp_value:
        return False

    tarball = fetch(recipe.source.url, recipe.source.sha256)
    if recipe.source.member is not None:
        tarball = extract_from_deb(tarball, recipe.source.member, recipe.source.member_sha256)
    if tree.exists():
        shutil.rmtree(tree)
    tree.parent.mkdir(parents=True, exist_ok=True)
    unpacking = tree.with_name(tree.name + ".unpacking")
    shutil.rmtree(unpacking, ignore_errors=True)
    unpacking.mkdir()
    # GNU tar is several times faster than tarfile on a 1.3 GB tree.
    _run(["tar", "-xf", str(tarball), "-C", str(unpacking),
          f"--strip-components={len(Path(recipe.source.strip).parts)}"], "unpack")
    if recipe.debian is not None:
        _apply_debian_patches(recipe, unpacking)
    for patch in recipe.patches:
        _run(["patch", "-p1", "--forward", "--batch", "-s", "-d", str(unpacking),
              "-i", str(patch)], f"apply {patch.name}")
    unpacking.rename(tree)
    stamp.write_text(stamp_value)
    return True


def _apply_debian_patches(recipe: Recipe, tree: Path) -> None:
    """Apply what debian/patches/series of Debian's packaging tarball lists, in order."""
    assert recipe.debian is not None
    tarball = fetch(recipe.debian.url, recipe.debian.sha256)
    packaging = tree.with_name(tree.name + ".debian")
    shutil.rmtree(packaging, ignore_errors=True)
    packaging.mkdir()
    try:
        _run(["tar", "-xf", str(tarball), "-C", str(packaging)], "unpack Debian packaging")
        patches = packaging / "debian" / "patches"
        try:
            series = (patches / "series").read_text().splitlines()
        except OSError:
            raise LinuxWasmError(f"{tarball.name}: no debian/patches/series") from None
        for line in series:
            name = line.split("#", 1)[0].strip()
            if name:
                _run(["patch", "-p1", "--forward", "--batch", "-s", "-d", str(tree),
                      "-i", str(patches / name.split()[0])], f"apply Debian's {name}")
    finally:
        shutil.rmtree(packaging, ignore_errors=True)


def sync_overlay(overlay: Path, folders: tuple[str, ...], tree: Path,
                 shared: dict[str, str] | None = None) -> list[Path]:
    """Make each of folders (ours entirely, e.g. arch/wasm) in tree equal overlay's.

    shared maps files of those folders to files elsewhere in the tree that
    they are copies of (a header another port already has). Only files
    that differ are copied, so unchanged files keep their time stamps and
    make rebuilds only what a change touches. Returns the files that
    changed or went away.
    """
    wanted: dict[Path, Path] = {}
    for folder in folders:
        ours = overlay / folder
        if not ours.is_dir():
            raise LinuxWasmError(f"{ours}: overlay folder missing")
        for src in ours.rglob("*"):
            if src.is_file():
                wanted[tree / src.relative_to(overlay)] = src
    for dst, src in (shared or {}).items():
        wanted[tree / dst] = tree / src

    changed = []
    for dst, src in wanted.items():
        if dst.exists() and dst.read_bytes() == src.read_bytes():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        changed.append(dst)
    for folder in folders:
        for dst in list((tree / folder).rglob("*")):
            if dst.is_file() and dst not in wanted:
                dst.unlink()
                changed.append(dst)
    return changed


def _run(cmd: list[str], what: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if result.returncode:
        detail = commands.cause((result.stderr or result.stdout).splitlines())
        raise LinuxWasmError(f"{what} failed: {detail or 'exit status ' + str(result.returncode)}")
