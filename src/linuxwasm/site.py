"""The browser page as a folder of static files (see web/README.md).

At the top: `index.html`, the service worker `sw.js` (its scope must be
the site), and `site.json`, which names the kernel and the system image
with their sizes (the page's download progress), the kernel command
line, and the empty ext4 image the page makes the user's home disk of
(kept in the browser's Origin Private File System). Everything else (the page's script and style, the environment-neutral
runtime with its browser adapter, xterm.js from npm pinned by
web/package-lock.json, the kernel, the system image) is in `v/HASH/`,
named by a hash of its contents: a server may let browsers keep it for good
(`linuxwasm serve` does), so that a reload, and each of the page's Web
Workers, loads it from the cache without asking.
"""

import gzip
import hashlib
import json
import shutil
from pathlib import Path

from linuxwasm import commands, disks, sources
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import BUILD, RUNTIME, SYSTEM, WEB

MANIFEST = "site.json"

# The kernel log goes to its own terminal (hvc2), which the page shows in a
# panel apart from the shell's; the agent moves files beside the shell
# (uploads, downloads).
CMDLINE = "console=hvc2 TERM=xterm-256color linuxwasm.agent=beside"

# web/index.html names its assets "ASSETS/...".
ASSET_PLACEHOLDER = "ASSETS/"
VERSIONED = "v"
PAGE_FILES = ("page.js", "isolate.js", "style.css")

# vendor/NAME: the file of web/package-lock.json's packages it comes from,
# licenses included. ES modules keep a .js name: every static host knows
# its MIME type (which a module script must have), not always .mjs's.
VENDOR_FILES = {
    "xterm.js": "@xterm/xterm/lib/xterm.mjs",
    "xterm.css": "@xterm/xterm/css/xterm.css",
    "xterm.LICENSE": "@xterm/xterm/LICENSE",
    "addon-fit.js": "@xterm/addon-fit/lib/addon-fit.mjs",
    "addon-fit.LICENSE": "@xterm/addon-fit/LICENSE",
}

NPM_DIR = BUILD / "npm"

# The page's home disk: its size, and the empty image it starts from.
HOME_SIZE = 128 << 20
HOME_IMAGE = BUILD / "home-empty.img.gz"


def home_image() -> Path:
    """An empty ext4 image of HOME_SIZE, gzipped (mostly zeros: a few hundred KB), made once."""
    if HOME_IMAGE.is_file():
        return HOME_IMAGE
    HOME_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    raw = HOME_IMAGE.with_suffix("")
    raw.unlink(missing_ok=True)
    disks.mkdisk(raw, HOME_SIZE, label="home")
    partial = HOME_IMAGE.with_name(HOME_IMAGE.name + ".partial")
    with open(raw, "rb") as source, open(partial, "wb") as file, \
            gzip.GzipFile(fileobj=file, mode="wb", compresslevel=9, mtime=0) as out:
        shutil.copyfileobj(source, out, 1 << 20)
    raw.unlink()
    partial.replace(HOME_IMAGE)
    return HOME_IMAGE


def npm_packages(report: commands.Report = lambda line: None) -> Path:
    """node_modules as web/package-lock.json pins it, made once per lockfile.

    What `npm ci --ignore-scripts` would make, without npm: each package's
    tarball from the registry, checked against the lockfile's integrity
    hash, unpacked in its place.
    """
    lockfile = WEB / "package-lock.json"
    digest = hashlib.sha256(lockfile.read_bytes()).hexdigest()
    stamp = NPM_DIR / ".installed"
    modules = NPM_DIR / "node_modules"
    if stamp.is_file() and stamp.read_text() == digest:
        return modules
    shutil.rmtree(NPM_DIR, ignore_errors=True)
    for where, package in json.loads(lockfile.read_text())["packages"].items():
        if not where:
            continue  # the page itself
        name = where.split("node_modules/")[-1]
        report(f"{name} {package['version']}")
        tarball = sources.fetch_npm(name, package["version"], package["integrity"])
        sources.unpack(tarball, NPM_DIR / where, strip=1)
    stamp.write_text(digest)
    return modules


def export(target: Path, kernel: Path, initramfs: Path, report: commands.Report = lambda line: None) -> Path:
    """Write the site into target, which must be empty, new, or an earlier export."""
    if target.exists() and not target.is_dir():
        raise LinuxWasmError(f"{target}: not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise LinuxWasmError(f"{target}: folder is not empty and holds no {MANIFEST}; not writing into it")
    modules = npm_packages(report)
    assets = {name: WEB / name for name in PAGE_FILES}
    assets["guide.txt"] = SYSTEM / "share" / "guide.txt"  # the guest's guide, linked from the page
    # The runtime but its Node adapter.
    assets |= {f"runtime/{path.relative_to(RUNTIME)}": path for path in sorted(RUNTIME.rglob("*.js"))
               if path.parent.name != "node"}
    assets |= {f"vendor/{name}": modules / source for name, source in VENDOR_FILES.items()}
    assets |= {"vmlinux.wasm": kernel, "initramfs.cpio.gz": initramfs, "home.img.gz": home_image()}
    digest = hashlib.sha256()
    for name, source in assets.items():
        digest.update(f"{name}\0{source.stat().st_size}\0".encode())
        digest.update(source.read_bytes())
    prefix = f"{VERSIONED}/{digest.hexdigest()[:16]}/"

    # An earlier export's assets are ours to replace.
    shutil.rmtree(target / VERSIONED, ignore_errors=True)
    for name, source in assets.items():
        destination = target / prefix / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    shutil.copyfile(WEB / "sw.js", target / "sw.js")
    index = (WEB / "index.html").read_text()
    (target / "index.html").write_text(index.replace(ASSET_PLACEHOLDER, prefix))
    manifest = {
        "kernel": {"path": prefix + "vmlinux.wasm", "size": kernel.stat().st_size},
        "initrd": {"path": prefix + "initramfs.cpio.gz", "size": initramfs.stat().st_size},
        "cmdline": CMDLINE,
        "home": {"image": prefix + "home.img.gz", "size": HOME_SIZE},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return target
