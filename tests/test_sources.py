"""Tests for linuxwasm.sources: fetch, .deb extraction, tree preparation, overlay sync.

Everything is offline: downloads use file:// URLs (urllib supports them), and
the Debian packages are real ar archives built here with binutils' ar or
llvm-ar.
"""

import dataclasses
import functools
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from linuxwasm import sources
from linuxwasm.errors import LinuxWasmError
from linuxwasm.recipes import DebianPatches, Recipe, Source
from linuxwasm.sources import extract_from_deb, fetch, prepare_tree, sha256_file, sync_overlay

AR_TOOLS = [tool for tool in ("ar", "llvm-ar-19") if shutil.which(tool)]
MEMBER = "usr/src/thing.tar.xz"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tar_xz(files: dict[str, bytes]) -> bytes:
    """An xz-compressed tar archive holding files (name -> content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def make_deb(folder: Path, data_files: dict[str, bytes], ar: str | None = None,
             name: str = "thing_1.0_all.deb", data_member: str = "data.tar.xz") -> Path:
    """A real .deb: debian-binary, control.tar.xz and the data archive, via ar."""
    if ar is None:
        if not AR_TOOLS:
            pytest.skip("neither ar (binutils) nor llvm-ar-19 is installed; needed to build .deb files")
        ar = AR_TOOLS[0]
    work = folder / f"{name}.members"
    work.mkdir(parents=True)
    (work / "debian-binary").write_bytes(b"2.0\n")
    (work / "control.tar.xz").write_bytes(tar_xz({"./control": b"Package: thing\nVersion: 1.0\n"}))
    (work / data_member).write_bytes(tar_xz(data_files))
    deb = folder / name
    subprocess.run([ar, "rc", str(deb), "debian-binary", "control.tar.xz", data_member],
                   cwd=work, check=True, capture_output=True)
    return deb


# --- fetch -----------------------------------------------------------------


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[Path, str]:
    """A file to download and the file:// URL that serves it."""
    source = tmp_path / "upstream" / "thing-1.0.tar.gz"
    source.parent.mkdir()
    source.write_bytes(b"pretend tarball\n" * 1000)
    return source, source.as_uri()


def test_fetch_downloads_and_verifies(tmp_path: Path, upstream: tuple[Path, str]) -> None:
    source, url = upstream
    downloads = tmp_path / "downloads"  # does not exist yet: fetch makes it
    path = fetch(url, sha(source.read_bytes()), downloads)
    assert path == downloads / "thing-1.0.tar.gz"
    assert path.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in downloads.iterdir()) == ["thing-1.0.tar.gz"]  # no .part left


def test_fetch_uses_the_cache(tmp_path: Path, upstream: tuple[Path, str]) -> None:
    source, url = upstream
    downloads = tmp_path / "downloads"
    digest = sha(source.read_bytes())
    first = fetch(url, digest, downloads)
    mtime = first.stat().st_mtime_ns
    source.unlink()  # a second download would now fail
    second = fetch(url, digest, downloads)
    assert second == first
    assert second.stat().st_mtime_ns == mtime
    assert sha256_file(second) == digest


def test_fetch_replaces_a_corrupt_cached_file(tmp_path: Path, upstream: tuple[Path, str]) -> None:
    source, url = upstream
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "thing-1.0.tar.gz").write_bytes(b"truncated")
    path = fetch(url, sha(source.read_bytes()), downloads)
    assert path.read_bytes() == source.read_bytes()


def test_fetch_checksum_mismatch(tmp_path: Path, upstream: tuple[Path, str]) -> None:
    source, url = upstream
    downloads = tmp_path / "downloads"
    with pytest.raises(LinuxWasmError) as err:
        fetch(url, "0" * 64, downloads)
    message = str(err.value)
    assert "checksum mismatch" in message
    assert "0" * 64 in message and sha(source.read_bytes()) in message
    assert list(downloads.iterdir()) == []  # neither the file nor a .part


def test_fetch_unreachable_url(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    url = (tmp_path / "nowhere" / "missing.deb").as_uri()
    with pytest.raises(LinuxWasmError) as err:
        fetch(url, "0" * 64, downloads)
    assert f"cannot download {url}" in str(err.value)
    assert list(downloads.iterdir()) == []


# --- extract_from_deb --------------------------------------------------------


@pytest.mark.parametrize("ar", AR_TOOLS or ["ar"])
def test_extract_from_deb(tmp_path: Path, ar: str) -> None:
    if not shutil.which(ar):
        pytest.skip(f"{ar} is not installed; needed to build .deb files")
    content = tar_xz({"thing-1.0/hello.txt": b"hello\n"})
    deb = make_deb(tmp_path, {"./usr/": b"", "./usr/src/thing.tar.xz": content,
                              "./usr/share/doc/thing/copyright": b"MIT\n"}, ar=ar)
    assert deb.read_bytes().startswith(b"!<arch>\n")
    out = extract_from_deb(deb, MEMBER, sha(content))
    assert out == tmp_path / "thing.tar.xz"
    assert out.read_bytes() == content
    assert not list(tmp_path.glob("*.part"))


def test_extract_from_deb_reuses_a_verified_file(tmp_path: Path) -> None:
    content = tar_xz({"thing-1.0/hello.txt": b"hello\n"})
    deb = make_deb(tmp_path, {"./usr/src/thing.tar.xz": content})
    out = extract_from_deb(deb, MEMBER, sha(content))
    mtime = out.stat().st_mtime_ns
    deb.write_bytes(b"not even an ar archive")  # not read again
    assert extract_from_deb(deb, MEMBER, sha(content)) == out
    assert out.stat().st_mtime_ns == mtime


def test_extract_from_deb_data_member_not_last(tmp_path: Path) -> None:
    """Whatever follows data.tar.xz in the ar archive (a signature...) is ignored."""
    content = tar_xz({"thing-1.0/hello.txt": b"hello\n"})
    deb = make_deb(tmp_path, {"./usr/src/thing.tar.xz": content})
    (tmp_path / "_gpgorigin").write_bytes(b"-----BEGIN PGP SIGNATURE-----\n")
    subprocess.run([AR_TOOLS[0], "q", str(deb), "_gpgorigin"], cwd=tmp_path, check=True)
    assert extract_from_deb(deb, MEMBER, sha(content)).read_bytes() == content


def test_extract_from_deb_wrong_checksum(tmp_path: Path) -> None:
    content = tar_xz({"thing-1.0/hello.txt": b"hello\n"})
    deb = make_deb(tmp_path, {"./usr/src/thing.tar.xz": content})
    with pytest.raises(LinuxWasmError, match="thing.tar.xz: checksum mismatch"):
        extract_from_deb(deb, MEMBER, "f" * 64)
    assert not (tmp_path / "thing.tar.xz").exists()
    assert not list(tmp_path.glob("*.part"))


def test_extract_from_deb_missing_member(tmp_path: Path) -> None:
    deb = make_deb(tmp_path, {"./usr/src/other.tar.xz": b"other"})
    with pytest.raises(LinuxWasmError, match=f"no {MEMBER} inside"):
        extract_from_deb(deb, MEMBER, "0" * 64)
    assert not (tmp_path / "thing.tar.xz").exists()


def test_extract_from_deb_without_data_member(tmp_path: Path) -> None:
    deb = make_deb(tmp_path, {"./x": b"x"}, data_member="payload.tar.xz")
    with pytest.raises(LinuxWasmError, match="no data.tar member"):
        extract_from_deb(deb, MEMBER, "0" * 64)


def test_extract_from_deb_unsupported_compression(tmp_path: Path) -> None:
    deb = make_deb(tmp_path, {"./usr/src/thing.tar.xz": b"x"}, data_member="data.tar.zst")
    with pytest.raises(LinuxWasmError, match="unsupported data member data.tar.zst"):
        extract_from_deb(deb, MEMBER, "0" * 64)


def test_extract_from_deb_not_an_ar_archive(tmp_path: Path) -> None:
    deb = tmp_path / "thing_1.0_all.deb"
    deb.write_bytes(tar_xz({"./usr/src/thing.tar.xz": b"x"}))
    with pytest.raises(LinuxWasmError, match="not a Debian package"):
        extract_from_deb(deb, MEMBER, "0" * 64)


# --- prepare_tree ----------------------------------------------------------

HELLO = b"hello\nworld\n"
PATCH = """\
--- a/hello.txt
+++ b/hello.txt
@@ -1,2 +1,2 @@
 hello
-world
+{word}
"""


@pytest.fixture
def kernel_like(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A recipe whose source is a file:// .deb, with the download cache in tmp_path.

    prepare_tree calls fetch(url, sha256) without a downloads folder, and
    fetch's default was bound to sources.DOWNLOADS when the module was
    imported, so patching that attribute would not redirect it: the module's
    fetch is replaced by one bound to the temporary cache instead.
    """
    downloads = tmp_path / "downloads"
    monkeypatch.setattr(sources, "DOWNLOADS", downloads)
    monkeypatch.setattr(sources, "fetch", functools.partial(fetch, downloads=downloads))

    tarball = tar_xz({"linux-source-6.1/hello.txt": HELLO,
                      "linux-source-6.1/arch/x86/Kconfig": b"config X86\n"})
    deb = make_deb(tmp_path / "pool", {"./usr/src/linux-source-6.1.tar.xz": tarball},
                   name="linux-source-6.1_6.1.0-1_all.deb")
    folder = tmp_path / "packages" / "linux"
    (folder / "patches").mkdir(parents=True)
    patch = folder / "patches" / "0001-change-hello.patch"
    patch.write_text(PATCH.format(word="wasm"))
    recipe = Recipe(
        name="linux", version="6.1.0", license="GPL-2.0-only",
        source=Source(url=deb.as_uri(), sha256=sha256_file(deb),
                      member="usr/src/linux-source-6.1.tar.xz",
                      member_sha256=sha(tarball), strip="linux-source-6.1"),
        patches=(patch,), overlay=("arch/wasm",), shared={}, folder=folder,
    )
    return {"recipe": recipe, "deb": deb, "patch": patch, "downloads": downloads,
            "tree": tmp_path / "build" / "linux"}


def test_prepare_tree(kernel_like: dict) -> None:
    recipe, tree = kernel_like["recipe"], kernel_like["tree"]
    assert prepare_tree(recipe, tree) is True
    # Unpacked with the top folder stripped, then patched.
    assert (tree / "hello.txt").read_text() == "hello\nwasm\n"
    assert (tree / "arch" / "x86" / "Kconfig").read_bytes() == b"config X86\n"
    assert not (tree / "linux-source-6.1").exists()
    assert not list(tree.rglob("*.orig")) and not list(tree.rglob("*.rej"))
    stamp = tree / ".linuxwasm-stamp"
    assert stamp.is_file()
    assert stamp.read_text() == recipe.source.member_sha256 + sha256_file(kernel_like["patch"])
    # The download and the extracted tarball went to the (temporary) cache.
    downloads = kernel_like["downloads"]
    assert (downloads / kernel_like["deb"].name).is_file()
    assert (downloads / "linux-source-6.1.tar.xz").is_file()
    assert not tree.with_name(tree.name + ".unpacking").exists()


def test_prepare_tree_second_call_does_nothing(kernel_like: dict) -> None:
    recipe, tree = kernel_like["recipe"], kernel_like["tree"]
    assert prepare_tree(recipe, tree) is True
    (tree / "built.o").write_bytes(b"object")  # would vanish if the tree were remade
    assert prepare_tree(recipe, tree) is False
    assert (tree / "built.o").exists()
    assert (tree / "hello.txt").read_text() == "hello\nwasm\n"


def test_prepare_tree_patch_change_remakes_tree(kernel_like: dict) -> None:
    recipe, tree = kernel_like["recipe"], kernel_like["tree"]
    assert prepare_tree(recipe, tree) is True
    (tree / "built.o").write_bytes(b"object")
    kernel_like["deb"].unlink()  # the cached download must be used
    kernel_like["patch"].write_text(PATCH.format(word="linux"))
    assert prepare_tree(recipe, tree) is True
    assert (tree / "hello.txt").read_text() == "hello\nlinux\n"
    assert not (tree / "built.o").exists()  # a fresh tree, not a re-patched one
    assert prepare_tree(recipe, tree) is False


def test_prepare_tree_failing_patch(kernel_like: dict) -> None:
    recipe, tree = kernel_like["recipe"], kernel_like["tree"]
    kernel_like["patch"].write_text(PATCH.replace("-world", "-planet").format(word="wasm"))
    with pytest.raises(LinuxWasmError, match="apply 0001-change-hello.patch failed"):
        prepare_tree(recipe, tree)
    assert not (tree / ".linuxwasm-stamp").exists()


def test_prepare_tree_wrong_deb_checksum(kernel_like: dict) -> None:
    recipe, tree = kernel_like["recipe"], kernel_like["tree"]
    bad = Recipe(**{**recipe.__dict__,
                    "source": Source(**{**recipe.source.__dict__, "sha256": "0" * 64})})
    with pytest.raises(LinuxWasmError, match="checksum mismatch"):
        prepare_tree(bad, tree)
    assert not tree.exists()


# --- sync_overlay ----------------------------------------------------------


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


@pytest.fixture
def overlay_and_tree(tmp_path: Path) -> tuple[Path, Path]:
    overlay, tree = tmp_path / "overlay", tmp_path / "tree"
    write(overlay / "arch/wasm/Kconfig", "config WASM\n")
    write(overlay / "arch/wasm/kernel/head.c", "/* head */\n")
    write(overlay / "arch/wasm/kernel/setup.c", "/* setup v2 */\n")
    write(tree / "arch/wasm/Kconfig", "config WASM\n")          # unchanged
    write(tree / "arch/wasm/kernel/setup.c", "/* setup v1 */\n")  # changed
    write(tree / "arch/wasm/kernel/gone.c", "/* removed */\n")   # not in overlay
    write(tree / "arch/x86/Kconfig", "config X86\n")            # another folder
    write(tree / "Makefile", "all:\n")
    old = 1_000_000_000
    for path in tree.rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))
    return overlay, tree


def test_sync_overlay(overlay_and_tree: tuple[Path, Path]) -> None:
    overlay, tree = overlay_and_tree
    changed = sync_overlay(overlay, ("arch/wasm",), tree)
    wasm = tree / "arch/wasm"
    assert sorted(changed) == sorted([wasm / "kernel/head.c", wasm / "kernel/setup.c",
                                      wasm / "kernel/gone.c"])
    assert sorted(p.relative_to(wasm).as_posix() for p in wasm.rglob("*") if p.is_file()) == \
        ["Kconfig", "kernel/head.c", "kernel/setup.c"]
    assert (wasm / "kernel/head.c").read_text() == "/* head */\n"
    assert (wasm / "kernel/setup.c").read_text() == "/* setup v2 */\n"
    # Unchanged files keep their time stamps, so make does not rebuild them.
    assert (wasm / "Kconfig").stat().st_mtime == 1_000_000_000
    assert (wasm / "kernel/setup.c").stat().st_mtime != 1_000_000_000
    # The rest of the tree is not ours and is left alone.
    assert (tree / "arch/x86/Kconfig").read_text() == "config X86\n"
    assert (tree / "arch/x86/Kconfig").stat().st_mtime == 1_000_000_000
    assert (tree / "Makefile").read_text() == "all:\n"


def test_sync_overlay_twice_changes_nothing(overlay_and_tree: tuple[Path, Path]) -> None:
    overlay, tree = overlay_and_tree
    sync_overlay(overlay, ("arch/wasm",), tree)
    mtimes = {p: p.stat().st_mtime_ns for p in tree.rglob("*") if p.is_file()}
    assert sync_overlay(overlay, ("arch/wasm",), tree) == []
    assert {p: p.stat().st_mtime_ns for p in tree.rglob("*") if p.is_file()} == mtimes


def test_sync_overlay_into_a_fresh_tree(tmp_path: Path) -> None:
    overlay, tree = tmp_path / "overlay", tmp_path / "tree"
    write(overlay / "arch/wasm/Makefile", "obj-y += kernel/\n")
    write(overlay / "arch/wasm/kernel/head.c", "/* head */\n")
    write(tree / "arch/x86/Makefile", "x86\n")
    changed = sync_overlay(overlay, ("arch/wasm",), tree)
    assert sorted(changed) == [tree / "arch/wasm/Makefile", tree / "arch/wasm/kernel/head.c"]
    assert (tree / "arch/wasm/kernel/head.c").read_text() == "/* head */\n"
    assert (tree / "arch/x86/Makefile").read_text() == "x86\n"


def test_sync_overlay_several_folders(tmp_path: Path) -> None:
    overlay, tree = tmp_path / "overlay", tmp_path / "tree"
    write(overlay / "arch/wasm/a.c", "a\n")
    write(overlay / "tools/wasm/b.py", "b\n")
    write(tree / "tools/wasm/stale.py", "stale\n")
    write(tree / "tools/perf/perf.c", "perf\n")
    sync_overlay(overlay, ("arch/wasm", "tools/wasm"), tree)
    assert (tree / "arch/wasm/a.c").read_text() == "a\n"
    assert (tree / "tools/wasm/b.py").read_text() == "b\n"
    assert not (tree / "tools/wasm/stale.py").exists()
    assert (tree / "tools/perf/perf.c").read_text() == "perf\n"


def test_sync_overlay_copies_shared_files_from_the_tree(tmp_path):
    overlay, tree = tmp_path / "overlay", tmp_path / "tree"
    (overlay / "arch/new").mkdir(parents=True)
    (overlay / "arch/new/own.h").write_text("ours\n")
    (tree / "arch/old").mkdir(parents=True)
    (tree / "arch/old/common.h").write_text("shared\n")

    changed = sync_overlay(overlay, ("arch/new",), tree, {"arch/new/common.h": "arch/old/common.h"})
    assert (tree / "arch/new/common.h").read_text() == "shared\n"
    assert (tree / "arch/new/own.h").read_text() == "ours\n"
    assert len(changed) == 2
    # A second sync keeps the shared copy instead of deleting it as a stray file.
    assert sync_overlay(overlay, ("arch/new",), tree, {"arch/new/common.h": "arch/old/common.h"}) == []
    assert (tree / "arch/new/common.h").exists()


def _with_debian(kernel_like: dict, tmp_path: Path, files: dict[str, bytes]) -> Recipe:
    """The kernel-like recipe with a Debian packaging tarball of these files."""
    packaging = tar_xz(files)
    tarball = tmp_path / "pool" / "thing_1.0-1.debian.tar.xz"
    tarball.write_bytes(packaging)
    return dataclasses.replace(kernel_like["recipe"],
                               debian=DebianPatches(url=tarball.as_uri(), sha256=sha(packaging)))


def test_prepare_tree_applies_debian_series_first(kernel_like: dict, tmp_path: Path) -> None:
    """Debian's patches go in the order of their series file, before ours."""
    debian_patch = PATCH.format(word="debian")
    ours = """\
--- a/hello.txt
+++ b/hello.txt
@@ -1,2 +1,2 @@
 hello
-debian
+ours
"""
    recipe = _with_debian(kernel_like, tmp_path, {
        "debian/patches/series": b"# comment\n\nfirst.patch\n",
        "debian/patches/first.patch": debian_patch.encode(),
        "debian/patches/unlisted.patch": b"not a patch\n"})
    kernel_like["patch"].write_text(ours)
    tree = kernel_like["tree"]
    assert prepare_tree(recipe, tree) is True
    assert (tree / "hello.txt").read_text() == "hello\nours\n"
    assert not (tree.parent / (tree.name + ".debian")).exists()


def test_prepare_tree_debian_without_series(kernel_like: dict, tmp_path: Path) -> None:
    recipe = _with_debian(kernel_like, tmp_path, {"debian/control": b"Source: thing\n"})
    with pytest.raises(LinuxWasmError, match="no debian/patches/series"):
        prepare_tree(recipe, kernel_like["tree"])
