"""Tests for linuxwasm.initramfs: newc layout, GNU cpio round trip, reproducibility, errors."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from linuxwasm.errors import LinuxWasmError
from linuxwasm.initramfs import Initramfs

CPIO = shutil.which("cpio")
needs_cpio = pytest.mark.skipif(CPIO is None, reason="GNU cpio is not installed; cannot read the archive back")

FIELDS = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
          "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check")


def parse_newc(archive: bytes) -> list[dict]:
    """Parse an uncompressed newc archive strictly, asserting the kernel's alignment rules."""
    entries, offset = [], 0
    while True:
        assert offset % 4 == 0
        assert archive[offset:offset + 6] == b"070701"
        header = {name: int(archive[offset + 6 + 8 * i:offset + 14 + 8 * i], 16)
                  for i, name in enumerate(FIELDS)}
        name_end = offset + 110 + header["namesize"]
        assert archive[name_end - 1] == 0, "namesize must include the terminating NUL"
        header["name"] = archive[offset + 110:name_end - 1].decode()
        data_start = (name_end + 3) & ~3
        assert archive[name_end:data_start].strip(b"\0") == b""
        header["data"] = archive[data_start:data_start + header["filesize"]]
        offset = (data_start + header["filesize"] + 3) & ~3
        entries.append(header)
        if header["name"] == "TRAILER!!!":
            assert offset == len(archive)
            return entries


def sample(mtime: int = 0) -> Initramfs:
    """An image with every kind of entry except device nodes."""
    image = Initramfs(mtime=mtime)
    image.add_file("/bin/busybox", b"\x7fELF" + bytes(range(256)) * 3, mode=0o755)
    image.add_symlink("/bin/sh", "busybox")
    image.add_dir("/tmp", mode=0o1777)
    image.add_file("/etc/init.d/rcS", b"#!/bin/sh\necho hi\n", mode=0o700)
    image.add_file("/empty", b"")
    image.add_file("/odd-name.txt", b"abc")
    return image


def test_header_fields_and_alignment() -> None:
    image = sample(mtime=1_700_000_000)
    image.add_char_device("/dev/console", 5, 1)
    entries = parse_newc(image.to_bytes(compress=False))
    names = [e["name"] for e in entries]
    assert names == ["bin", "bin/busybox", "bin/sh", "dev", "dev/console", "empty",
                     "etc", "etc/init.d", "etc/init.d/rcS", "odd-name.txt", "tmp", "TRAILER!!!"]
    by_name = {e["name"]: e for e in entries}
    for entry in entries[:-1]:
        assert entry["uid"] == entry["gid"] == entry["check"] == 0
        assert entry["mtime"] == 1_700_000_000
        assert entry["namesize"] == len(entry["name"]) + 1
        assert entry["nlink"] == (2 if stat.S_ISDIR(entry["mode"]) else 1)
    assert len({e["ino"] for e in entries[:-1]}) == len(entries) - 1
    assert by_name["bin"]["mode"] == stat.S_IFDIR | 0o755
    assert by_name["tmp"]["mode"] == stat.S_IFDIR | 0o1777
    assert by_name["bin/busybox"]["mode"] == stat.S_IFREG | 0o755
    assert by_name["bin/sh"]["mode"] == stat.S_IFLNK | 0o777
    assert by_name["bin/sh"]["data"] == b"busybox"
    console = by_name["dev/console"]
    assert console["mode"] == stat.S_IFCHR | 0o600
    assert (console["rdevmajor"], console["rdevminor"], console["filesize"]) == (5, 1, 0)
    trailer = entries[-1]
    assert trailer["filesize"] == 0 and trailer["namesize"] == 11


def test_gzip_and_reproducible() -> None:
    first, second = sample().to_bytes(), sample().to_bytes()
    assert first == second
    assert first[:2] == b"\x1f\x8b"
    assert gzip.decompress(first) == sample().to_bytes(compress=False)


def test_explicit_dir_overrides_implicit_parent() -> None:
    image = Initramfs()
    image.add_file("/root/.profile", b"")
    image.add_dir("/root", mode=0o700)
    modes = {e["name"]: e["mode"] for e in parse_newc(image.to_bytes(compress=False))}
    assert modes["root"] == stat.S_IFDIR | 0o700


@pytest.mark.parametrize("path", ["bin/sh", "", "/a/../b", "/..", "/"])
def test_bad_paths(path: str) -> None:
    with pytest.raises(LinuxWasmError):
        Initramfs().add_file(path, b"x")


def test_duplicates_and_non_directory_parent() -> None:
    image = Initramfs()
    image.add_file("/init", b"x")
    with pytest.raises(LinuxWasmError, match="twice"):
        image.add_symlink("/init", "other")
    with pytest.raises(LinuxWasmError, match="twice"):
        image.add_dir("/init")
    image.add_dir("/etc")
    with pytest.raises(LinuxWasmError, match="twice"):
        image.add_dir("/etc")
    with pytest.raises(LinuxWasmError, match="not a directory"):
        image.add_file("/init/x", b"")


def test_add_file_from_keeps_host_mode(tmp_path: Path) -> None:
    host = tmp_path / "prog"
    host.write_bytes(b"binary")
    host.chmod(0o751)
    image = Initramfs()
    image.add_file_from("/bin/prog", host)
    image.add_file_from("/bin/prog-ro", host, mode=0o444)
    with pytest.raises(LinuxWasmError, match="cannot read"):
        image.add_file_from("/bin/missing", tmp_path / "missing")
    with pytest.raises(LinuxWasmError, match="not a regular file"):
        image.add_file_from("/bin/dir", tmp_path)
    by_name = {e["name"]: e for e in parse_newc(image.to_bytes(compress=False))}
    assert by_name["bin/prog"]["mode"] == stat.S_IFREG | 0o751
    assert by_name["bin/prog"]["data"] == b"binary"
    assert by_name["bin/prog-ro"]["mode"] == stat.S_IFREG | 0o444


def test_write_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "initramfs.cpio.gz"
    target.write_bytes(b"old")
    sample().write(target)
    assert target.read_bytes() == sample().to_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    with pytest.raises(LinuxWasmError, match="cannot write"):
        sample().write(tmp_path / "no-such-dir" / "x.gz")


@needs_cpio
def test_gnu_cpio_extracts_identical_tree(tmp_path: Path) -> None:
    image = sample(mtime=1_600_000_000)
    out = tmp_path / "out"
    out.mkdir()
    listing = subprocess.run([CPIO, "-it"], input=image.to_bytes(compress=False),
                             capture_output=True, check=True).stdout.decode().split()
    assert listing == ["bin", "bin/busybox", "bin/sh", "empty", "etc", "etc/init.d",
                       "etc/init.d/rcS", "odd-name.txt", "tmp"]
    subprocess.run([CPIO, "-idm", "--no-absolute-filenames", "--quiet"], cwd=out,
                   input=gzip.decompress(image.to_bytes()), check=True)
    parsed = {e["name"]: e for e in parse_newc(image.to_bytes(compress=False))}
    for name in ("bin/busybox", "etc/init.d/rcS", "empty", "odd-name.txt"):
        assert (out / name).read_bytes() == parsed[name]["data"]
        assert os.lstat(out / name).st_mode == parsed[name]["mode"]
    assert os.readlink(out / "bin/sh") == "busybox"
    assert stat.S_IMODE(os.lstat(out / "tmp").st_mode) == 0o1777
    assert os.lstat(out / "bin/busybox").st_mtime == 1_600_000_000


@needs_cpio
def test_gnu_cpio_lists_char_device() -> None:
    image = Initramfs()
    image.add_char_device("/dev/console", 5, 1)
    lines = subprocess.run([CPIO, "-itv"], input=image.to_bytes(compress=False),
                           capture_output=True, check=True).stdout.decode().splitlines()
    console = next(line for line in lines if line.endswith("dev/console"))
    assert re.match(r"crw------- .* 5, +1 ", console)
