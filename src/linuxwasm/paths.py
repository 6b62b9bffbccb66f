"""Where things live: the repository, its build folder, the download cache."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = REPO / "packages"
RUNTIME = REPO / "runtime"
WEB = REPO / "web"
GUEST = REPO / "guest"
SYSTEM = REPO / "system"
BUILD = Path(os.environ.get("LINUXWASM_BUILD", REPO / "build"))

# Downloads, ccache and built artifacts, shared by every checkout.
CACHE = Path(os.environ.get("LINUXWASM_CACHE", Path.home() / ".cache" / "linuxwasm"))

KERNEL_WASM = BUILD / "vmlinux.wasm"
INITRAMFS = BUILD / "initramfs.cpio.gz"
SITE = BUILD / "site"
