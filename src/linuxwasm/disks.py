"""Disks: host files that the guest sees as virtio block devices.

The first disk given is /dev/vda, the next /dev/vdb, and so on. Each is
attached read-write, read-only (`ro`: writes fail with EROFS in the
guest, and the host's file is opened for reading only), or as a snapshot
(`snapshot`: the guest may write, but its writes go to a temporary file
that is gone when the machine stops; the image is only read). The
guest's init mounts a disk's ext4 file system where its spec says, and
unmounts it before the machine stops; a disk mounted on `/` is the root
file system instead of the initramfs.

A disk attached read-write is locked (flock) for as long as its machine
runs, so that a second machine cannot open it read-write and corrupt
it; read-only and snapshot disks take a shared lock, which only a
writer's lock excludes.

Images are made with Debian's e2fsprogs (`mke2fs -d`, see mkdisk), under
fakeroot so that their files are root's.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from linuxwasm.errors import LinuxWasmError

MODES = ("rw", "ro", "snapshot")
# Interrupt lines 8 to 31 are the devices' (arch/wasm/include/asm/irq.h).
MAX_DISKS = 24
SECTOR = 512
# Where a disk may not be mounted: the kernel's own file systems are there.
_NOT_ON = ("/proc", "/sys", "/dev")
# A mount point passes through the kernel command line as one word.
_MOUNT_POINT = re.compile(r"/[A-Za-z0-9._@+/-]{0,199}")


@dataclass(frozen=True)
class Disk:
    """A host image for the guest, mounted at mount (a guest folder) unless that is None."""

    path: Path
    mount: str | None = None
    mode: str = "rw"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise LinuxWasmError(f"disk {self.path}: mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mount is not None:
            check_mount_point(self.mount, f"disk {self.path}")


def check_mount_point(mount: str, what: str) -> None:
    if not _MOUNT_POINT.fullmatch(mount) or ".." in PurePosixPath(mount).parts:
        raise LinuxWasmError(f"{what}: mount point {mount!r} must be an absolute guest path "
                             "of letters, digits and ._@+-/, without '..'")
    if any(mount == top or mount.startswith(top + "/") for top in _NOT_ON):
        raise LinuxWasmError(f"{what}: cannot mount on {mount} (the kernel's own files are there)")


def parse_disk(spec: str) -> Disk:
    """IMAGE[:GUEST_FOLDER][:ro|:snapshot], as --disk takes it."""
    path, mount, mode = spec, None, "rw"
    head, sep, last = path.rpartition(":")
    if sep and head and last in ("ro", "snapshot"):
        path, mode = head, last
    head, sep, last = path.rpartition(":")
    if sep and head and last.startswith("/"):
        path, mount = head, str(PurePosixPath(last)) if last != "/" else "/"
    if not path:
        raise LinuxWasmError(f"--disk {spec}: expected IMAGE[:GUEST_FOLDER][:ro|:snapshot]")
    return Disk(Path(path), mount, mode)


def device_name(index: int) -> str:
    """vda, vdb, ... vdz, vdaa: as virtio_blk names them."""
    name = ""
    index += 1
    while index:
        index, letter = divmod(index - 1, 26)
        name = chr(ord("a") + letter) + name
    return "vd" + name


def check(disks: tuple[Disk, ...]) -> None:
    """Fail with one line naming the problem if the disks cannot be attached as asked."""
    if len(disks) > MAX_DISKS:
        raise LinuxWasmError(f"{len(disks)} disks: at most {MAX_DISKS}")
    seen: set[tuple[int, int]] = set()
    for disk in disks:
        try:
            info = disk.path.stat()
        except FileNotFoundError:
            raise LinuxWasmError(f"{disk.path}: disk image not found") from None
        except OSError as e:
            raise LinuxWasmError(f"{disk.path}: cannot use the disk image: {e.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise LinuxWasmError(f"{disk.path}: a disk image must be a regular file")
        if info.st_size < SECTOR:
            raise LinuxWasmError(f"{disk.path}: disk image of {info.st_size} bytes "
                                 f"(less than one {SECTOR}-byte sector)")
        if (info.st_dev, info.st_ino) in seen:
            raise LinuxWasmError(f"{disk.path}: the same image attached twice")
        seen.add((info.st_dev, info.st_ino))
        if not os.access(disk.path, os.R_OK):
            raise LinuxWasmError(f"{disk.path}: disk image not readable")
        if disk.mode == "rw" and not os.access(disk.path, os.W_OK):
            raise LinuxWasmError(f"{disk.path}: disk image is read-only on the host "
                                 "(attach it with :ro, or :snapshot to write to a throwaway copy)")


@contextmanager
def locked(disks: tuple[Disk, ...]) -> Iterator[None]:
    """Hold each disk's lock while the machine runs: exclusive if read-write, shared otherwise."""
    with ExitStack() as stack:
        for disk in disks:
            fd = os.open(disk.path, os.O_RDONLY | os.O_CLOEXEC)
            stack.callback(os.close, fd)
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX if disk.mode == "rw" else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LinuxWasmError(f"{disk.path}: disk image in use by another machine"
                                     + (" (attach it with :snapshot to use it too)" if disk.mode == "rw" else
                                        " that writes to it")) from None
        yield


def root(disks: tuple[Disk, ...]) -> str | None:
    """The device of the disk mounted on /, if one is."""
    return next((device_name(i) for i, d in enumerate(disks) if d.mount == "/"), None)


def cmdline(disks: tuple[Disk, ...]) -> str:
    """What the kernel and init need to hear of the disks (system/init.c mounts them)."""
    words = []
    root_device = root(disks)
    if root_device:
        mode = next(d.mode for d in disks if d.mount == "/")
        # The system's init is /init, where the initramfs has it (mkdisk --system).
        words.append(f"root=/dev/{root_device} rootfstype=ext4 {'ro' if mode == 'ro' else 'rw'} init=/init")
    mounts = [f"{device_name(i)}:{d.mount}:{'ro' if d.mode == 'ro' else 'rw'}"
              for i, d in enumerate(disks) if d.mount not in (None, "/")]
    if mounts:
        words.append("linuxwasm.disks=" + ",".join(mounts))
    return " ".join(words)


def node_arguments(disks: tuple[Disk, ...]) -> list[str]:
    """The --disk arguments of runtime/node/main.js."""
    return [arg for d in disks for arg in ("--disk", f"{d.mode}:{os.path.abspath(d.path)}")]


# -- making images ------------------------------------------------------------

_SIZE = re.compile(r"([0-9]+)([KMGT]?)(i?B)?", re.IGNORECASE)
MIN_SIZE = 1 << 20
MAX_SIZE = 1 << 40


def parse_size(text: str) -> int:
    """256M, 1G, 1048576: bytes (K, M, G and T are powers of 1024)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise LinuxWasmError(f"size {text!r}: expected a number with K, M, G or T (256M)")
    size = int(match[1]) << (10 * " KMGT".index(match[2].upper() or " "))
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise LinuxWasmError(f"size {text}: must be 1M to 1T")
    return size


def _tool(name: str, package: str) -> str:
    path = shutil.which(name) or next((str(p) for d in ("/usr/sbin", "/sbin")
                                       if (p := Path(d) / name).is_file()), None)
    if not path:
        raise LinuxWasmError(f"{name} not found: run 'make deps' (Debian package {package})")
    return path


def mkdisk(path: Path, size: int, source: Path | None = None, *, keep_owners: bool = False,
           label: str = "") -> None:
    """Make an ext4 image of size bytes at path (which must not exist), with source's files in it.

    Files are root's unless keep_owners, as the host has them otherwise.
    """
    if path.exists() or path.is_symlink():
        raise LinuxWasmError(f"{path}: already exists (mkdisk makes a new image)")
    if not path.parent.is_dir():
        raise LinuxWasmError(f"{path.parent}: no such folder")
    if source is not None and not source.is_dir():
        raise LinuxWasmError(f"{source}: not a folder")
    command = [_tool("mke2fs", "e2fsprogs"), "-q", "-F", "-t", "ext4", "-E", "root_owner=0:0"]
    if label:
        command += ["-L", label[:16]]
    if source is not None:
        command += ["-d", str(source)]
    command += [str(path), f"{size // 1024}k"]
    if source is not None and not keep_owners:
        command = [_tool("fakeroot", "fakeroot"), "--", *command]
    made = False
    try:
        with open(path, "xb") as image:
            made = True
            image.truncate(size)
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
            raise LinuxWasmError(f"mke2fs failed: {lines[-1] if lines else f'status {done.returncode}'}")
    except OSError as e:
        if made:
            path.unlink(missing_ok=True)
        raise LinuxWasmError(f"{path}: {e.strerror}") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
