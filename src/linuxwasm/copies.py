"""Files copied into the guest at boot and out of it after a command.

Copying in appends a second archive to the initramfs (the kernel unpacks
each archive of a concatenation in turn; init moves what lands in /tmp
and /run into the tmpfs it mounts there): nothing of the host is shared
with the guest. Copying out reads the file through the guest agent.
"""

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from linuxwasm.errors import LinuxWasmError
from linuxwasm.initramfs import Initramfs


@dataclass(frozen=True)
class Copy:
    host: Path
    guest: str


def _guest_path(text: str, spec: str) -> str:
    if not text.startswith("/"):
        raise LinuxWasmError(f"{spec}: the guest path must be absolute")
    return str(PurePosixPath(text))


# Mounted over by init with file systems of their own, whose files come
# from the kernel: nothing copied there would be seen.
_NOT_INTO = ("/proc", "/sys", "/dev")


def parse_copy_in(spec: str) -> Copy:
    """HOST:GUEST; the host file or folder must exist."""
    host, sep, guest = spec.rpartition(":")
    if not sep or not host:
        raise LinuxWasmError(f"--copy-in {spec}: expected HOST:GUEST")
    copy = Copy(Path(host), _guest_path(guest, f"--copy-in {spec}"))
    if not (copy.host.is_file() or copy.host.is_dir()):
        raise LinuxWasmError(f"--copy-in {spec}: {host} is not a file or a folder")
    if copy.guest == "/" or any(copy.guest == top or copy.guest.startswith(top + "/") for top in _NOT_INTO):
        raise LinuxWasmError(f"--copy-in {spec}: cannot copy into {copy.guest} (the kernel's own files are there)")
    return copy


def parse_copy_out(spec: str) -> Copy:
    """GUEST:HOST; the host file's folder must exist."""
    guest, sep, host = spec.partition(":")
    if not sep or not host:
        raise LinuxWasmError(f"--copy-out {spec}: expected GUEST:HOST")
    copy = Copy(Path(host), _guest_path(guest, f"--copy-out {spec}"))
    if not copy.host.parent.is_dir():
        raise LinuxWasmError(f"--copy-out {spec}: {copy.host.parent} is not a folder")
    return copy


def _add(image: Initramfs, host: Path, guest: str) -> None:
    """A file, or a folder with everything in it (symlinks as symlinks, host modes kept)."""
    if host.is_symlink():
        image.add_symlink(guest, os.readlink(host))
    elif host.is_dir():
        image.add_dir(guest, stat.S_IMODE(host.stat().st_mode))
        for child in sorted(host.iterdir()):
            _add(image, child, f"{guest}/{child.name}")
    else:
        image.add_file_from(guest, host)


def initramfs_with(base: Path, copies: list[Copy], folder: Path,
                   existing: frozenset[str] = frozenset()) -> Path:
    """base, then an archive of the copies (host modes kept), as a file in folder.

    existing names the folders base has, whose modes stay as they are.
    """
    if not copies:
        return base
    extra = Initramfs()
    for copy in copies:
        _add(extra, copy.host, copy.guest)
    fd, name = tempfile.mkstemp(dir=folder, prefix="initramfs-", suffix=".cpio.gz")
    with open(fd, "wb") as out:
        out.write(base.read_bytes())
        out.write(extra.to_bytes(existing=existing))
    return Path(name)
