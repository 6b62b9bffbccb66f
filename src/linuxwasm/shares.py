"""Shared folders: host folders that the guest mounts over 9p.

Each is a virtio-9p device whose file server is the host runtime's
(runtime/9p/server.js over runtime/node/host-folder.js), speaking
9P2000.L, the protocol of Linux's v9fs. The guest reaches nothing
outside the folder: the server walks every path from the folder's root
and follows no symlink on the host (a symlink is a file to the guest,
resolved in the guest's own tree), and opens regular files only.
`:ro` refuses every write in the server, and init mounts it read-only.
Owners are not kept: in the guest every file is root's, and on the host
the files the guest makes are the user's who runs the machine.

From Python a share may instead be served by Debian's diod
(`Share(..., server="diod")`), the 9P2000.L server our own is tested
against; it keeps owners, and serves other users only when run as root.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from linuxwasm.disks import check_mount_point
from linuxwasm.errors import LinuxWasmError

MODES = ("rw", "ro")
SERVERS = ("linuxwasm", "diod")
# Shares and disks together: interrupt lines 8 to 31 (arch/wasm/include/asm/irq.h).
MAX_SHARES = 16


@dataclass(frozen=True)
class Share:
    """A host folder for the guest, mounted at mount (a guest folder)."""

    path: Path
    mount: str
    mode: str = "rw"
    server: str = "linuxwasm"

    def __post_init__(self) -> None:
        if self.server not in SERVERS:
            raise LinuxWasmError(f"share {self.path}: server {self.server!r} is not one of {', '.join(SERVERS)}")
        if self.mode not in MODES:
            raise LinuxWasmError(f"share {self.path}: mode {self.mode!r} is not one of {', '.join(MODES)}")
        check_mount_point(self.mount, f"share {self.path}")
        if self.mount == "/":
            raise LinuxWasmError(f"share {self.path}: cannot be the root file system (a disk can)")


def parse_share(spec: str) -> Share:
    """HOST_FOLDER:GUEST_FOLDER[:ro], as --share takes it."""
    path, mode = spec, "rw"
    head, sep, last = path.rpartition(":")
    if sep and head and last in MODES:
        path, mode = head, last
    path, sep, mount = path.rpartition(":")
    if not sep or not path or not mount.startswith("/"):
        raise LinuxWasmError(f"--share {spec}: expected HOST_FOLDER:GUEST_FOLDER[:ro]")
    return Share(Path(path), mount.rstrip("/") or "/", mode)


def tag(index: int) -> str:
    """The name the guest mounts share index by."""
    return f"share{index}"


def check(shares: tuple[Share, ...]) -> None:
    """Fail with one line naming the problem if the folders cannot be shared as asked."""
    if len(shares) > MAX_SHARES:
        raise LinuxWasmError(f"{len(shares)} shared folders: at most {MAX_SHARES}")
    for share in shares:
        if not share.path.is_dir():
            raise LinuxWasmError(f"{share.path}: shared folder not found" if not share.path.exists()
                                 else f"{share.path}: not a folder")
        if not os.access(share.path, os.R_OK | os.X_OK):
            raise LinuxWasmError(f"{share.path}: shared folder not readable")
        if share.server == "diod" and not shutil.which("diod", path="/usr/sbin:/usr/bin:/sbin:/bin"):
            raise LinuxWasmError("diod not found (Debian package diod)")


def cmdline(shares: tuple[Share, ...]) -> str:
    """What init needs to hear of the shares (system/init.c mounts them)."""
    if not shares:
        return ""
    return "linuxwasm.shares=" + ",".join(f"{tag(i)}:{s.mount}:{s.mode}" for i, s in enumerate(shares))


def node_arguments(shares: tuple[Share, ...]) -> list[str]:
    """The --share arguments of runtime/node/main.js."""
    return [arg for s in shares for arg in ("--share", f"{s.mode}:{s.server}:{os.path.abspath(s.path)}")]
