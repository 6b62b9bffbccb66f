"""Build initramfs images: gzip-compressed cpio archives in the "newc" format.

The layout follows what the kernel's ``init/initramfs.c`` unpacks (see
``Documentation/driver-api/early-userspace/buffer-format.rst``): every entry is
a 110-byte ASCII header, the NUL-terminated name padded so that header plus
name end on a 4-byte boundary, then the data padded to 4 bytes. The archive
ends with a ``TRAILER!!!`` entry.

Every non-directory has ``nlink`` 1 and its own inode number, so the kernel
never treats two entries as hard links of each other. Owner is always root and
all timestamps are the same fixed value, so an image is reproducible byte for
byte.
"""

from __future__ import annotations

import gzip
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from linuxwasm.errors import LinuxWasmError

_MAGIC = b"070701"
_TRAILER = "TRAILER!!!"
_U32_MAX = 0xFFFFFFFF


@dataclass(frozen=True)
class _Entry:
    """One archive member: full ``st_mode`` (type and permissions) plus payload."""

    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)
    implicit: bool = False


def _pad4(length: int) -> bytes:
    """Return the NUL bytes that bring ``length`` up to a multiple of 4."""
    return b"\0" * (-length % 4)


def _header(ino: int, mode: int, nlink: int, mtime: int, filesize: int,
            rdev: tuple[int, int], namesize: int) -> bytes:
    """Encode a newc header; uid, gid, c_maj, c_min and c_check are 0."""
    fields = (ino, mode, 0, 0, nlink, mtime, filesize, 0, 0, rdev[0], rdev[1], namesize, 0)
    for value in fields:
        if not 0 <= value <= _U32_MAX:
            raise LinuxWasmError(f"value {value} does not fit in a cpio newc header field")
    return _MAGIC + b"".join(b"%08x" % value for value in fields)


def _member(ino: int, mode: int, nlink: int, mtime: int, name: str, data: bytes,
            rdev: tuple[int, int] = (0, 0)) -> bytes:
    """Encode header, padded name and padded data of one archive member."""
    name_bytes = name.encode() + b"\0"
    head = _header(ino, mode, nlink, mtime, len(data), rdev, len(name_bytes)) + name_bytes
    return head + _pad4(len(head)) + data + _pad4(len(data))


class Initramfs:
    """An in-memory set of files, directories, symlinks and device nodes.

    Guest paths are absolute POSIX paths such as ``/bin/sh``. Missing parent
    directories are created with mode 0755; an explicit :meth:`add_dir` may
    still set the mode of such a directory later.
    """

    def __init__(self, mtime: int = 0) -> None:
        """Create an empty image whose entries all carry modification time ``mtime``."""
        if not 0 <= mtime <= _U32_MAX:
            raise LinuxWasmError(f"initramfs mtime {mtime} is outside 0..{_U32_MAX}")
        self._mtime = mtime
        self._entries: dict[tuple[str, ...], _Entry] = {}

    def add_dir(self, path: str, mode: int = 0o755) -> None:
        """Add a directory."""
        self._add(path, _Entry(stat.S_IFDIR | _perm(mode, path)))

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Add a regular file with contents ``data``."""
        self._add(path, _Entry(stat.S_IFREG | _perm(mode, path), bytes(data)))

    def add_file_from(self, path: str, host_path: Path, mode: int | None = None) -> None:
        """Add a regular file copied from ``host_path``; ``mode=None`` keeps the host's mode bits."""
        try:
            st = os.stat(host_path)
            if not stat.S_ISREG(st.st_mode):
                raise LinuxWasmError(f"{host_path} is not a regular file (needed for initramfs {path})")
            data = Path(host_path).read_bytes()
        except OSError as exc:
            raise LinuxWasmError(f"cannot read {host_path} for initramfs {path}: {exc.strerror}") from exc
        self.add_file(path, data, stat.S_IMODE(st.st_mode) if mode is None else mode)

    def add_symlink(self, path: str, target: str) -> None:
        """Add a symbolic link pointing at ``target`` (stored verbatim, may be relative)."""
        if not target or "\0" in target:
            raise LinuxWasmError(f"invalid symlink target {target!r} for initramfs {path}")
        self._add(path, _Entry(stat.S_IFLNK | 0o777, target.encode()))

    def add_char_device(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        """Add a character device node, e.g. ``/dev/console`` as (5, 1)."""
        self._add(path, _Entry(stat.S_IFCHR | _perm(mode, path), rdev=(major, minor)))

    def _add(self, path: str, entry: _Entry) -> None:
        """Insert ``entry`` at ``path``, creating missing parents."""
        parts = _split(path)
        for depth in range(1, len(parts)):
            parent = self._entries.get(parts[:depth])
            if parent is None:
                self._entries[parts[:depth]] = _Entry(stat.S_IFDIR | 0o755, implicit=True)
            elif not stat.S_ISDIR(parent.mode):
                raise LinuxWasmError(f"initramfs path {path}: /{'/'.join(parts[:depth])} is not a directory")
        existing = self._entries.get(parts)
        if existing is not None and not (existing.implicit and stat.S_ISDIR(entry.mode)):
            raise LinuxWasmError(f"initramfs path {path} is added twice")
        self._entries[parts] = entry

    def to_bytes(self, compress: bool = True, existing: frozenset[str] = frozenset()) -> bytes:
        """Return the archive, gzip-compressed (with a zero gzip mtime) unless ``compress`` is false.

        Implicit directories named in ``existing`` are left out: an archive
        unpacked after another must not reset their modes.
        """
        chunks = []
        skip = {_split(path) for path in existing}
        # Sorting the component tuples puts every directory before its contents.
        for ino, parts in enumerate(sorted(self._entries), start=1):
            entry = self._entries[parts]
            if entry.implicit and parts in skip:
                continue
            nlink = 2 if stat.S_ISDIR(entry.mode) else 1
            chunks.append(_member(ino, entry.mode, nlink, self._mtime, "/".join(parts),
                                  entry.data, entry.rdev))
        chunks.append(_member(0, 0, 1, 0, _TRAILER, b""))
        archive = b"".join(chunks)
        return gzip.compress(archive, compresslevel=9, mtime=0) if compress else archive

    def extract(self, folder: Path) -> None:
        """Make the files, folders and symlinks in folder (an empty host folder), modes kept.

        Device nodes are left out: the guest's devtmpfs has them.
        """
        folder = Path(folder)
        for parts in sorted(self._entries):
            entry = self._entries[parts]
            target = folder.joinpath(*parts)
            if stat.S_ISDIR(entry.mode):
                target.mkdir(exist_ok=True)
            elif stat.S_ISREG(entry.mode):
                target.write_bytes(entry.data)
            elif stat.S_ISLNK(entry.mode):
                target.symlink_to(entry.data.decode())
                continue
            else:
                continue
            target.chmod(stat.S_IMODE(entry.mode))

    def write(self, path: Path) -> None:
        """Write the compressed archive to ``path`` atomically (temporary file in the same directory, then rename)."""
        path = Path(path)
        data = self.to_bytes()
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise LinuxWasmError(f"cannot write {path}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as exc:
            os.unlink(tmp)
            raise LinuxWasmError(f"cannot write {path}: {exc.strerror}") from exc


def _split(path: str) -> tuple[str, ...]:
    """Validate an absolute guest path and return its components."""
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        raise LinuxWasmError(f"initramfs path {path!r} must be an absolute POSIX path")
    parts = tuple(part for part in path.split("/") if part not in ("", "."))
    if ".." in parts:
        raise LinuxWasmError(f"initramfs path {path!r} must not contain '..'")
    if not parts:
        raise LinuxWasmError("initramfs path '/' is the root directory and cannot be added")
    return parts


def _perm(mode: int, path: str) -> int:
    """Check that ``mode`` holds only permission bits (including setuid/setgid/sticky)."""
    if mode & ~0o7777 or mode < 0:
        raise LinuxWasmError(f"initramfs mode {mode:#o} for {path} is not a permission mode")
    return mode
