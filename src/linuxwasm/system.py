"""The system image: BusyBox, /init, the agent and /etc (see system/README.md)."""

import hashlib
import subprocess
from pathlib import Path

from linuxwasm import busybox, commands, guest, nodejs, recipes, zoneinfo
from linuxwasm.errors import LinuxWasmError
from linuxwasm.initramfs import Initramfs
from linuxwasm.paths import BUILD, INITRAMFS, RUNTIME, SYSTEM

DIRECTORIES = {
    "/bin": 0o755, "/sbin": 0o755, "/usr/bin": 0o755, "/usr/sbin": 0o755,
    "/dev": 0o755, "/proc": 0o555, "/sys": 0o555, "/run": 0o755, "/tmp": 0o1777,
    "/root": 0o700, "/home": 0o755, "/mnt": 0o755, "/var": 0o755, "/etc": 0o755,
    "/var/log": 0o755, "/var/spool/cron/crontabs": 0o755,
}


# Files of /etc that only root may read.
PRIVATE_ETC = {"shadow"}
# What `help` prints (a function of /etc/profile) and the guide it points to,
# which the page links to as well (site.py).
DOCUMENTS = {
    "/usr/share/linuxwasm/help": SYSTEM / "share" / "help",
    "/usr/share/doc/linuxwasm/guide.txt": SYSTEM / "share" / "guide.txt",
}
# Scripts of BusyBox's applets, where they look for them.
SCRIPTS = {
    "/usr/share/udhcpc/default.script": SYSTEM / "share" / "udhcpc.script",
}

PREEMPT_TOOL = RUNTIME / "node" / "preempt.js"


def preempted(program: Path) -> Path:
    """The program with its preemption points (runtime/preempt.js) added now,
    not at every boot; rewritten again only when it or the rewriter changed."""
    output = BUILD / "system" / "preempted" / program.name
    inputs = (program, RUNTIME / "preempt.js", PREEMPT_TOOL)
    if output.exists() and output.stat().st_mtime >= max(p.stat().st_mtime for p in inputs):
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([str(nodejs.build()), str(PREEMPT_TOOL), str(program), str(output)], capture_output=True, text=True)
    if result.returncode:
        raise LinuxWasmError(result.stderr.strip() or f"{PREEMPT_TOOL.name} failed on {program}")
    return output


def programs(report: commands.Report = lambda line: None) -> dict[str, Path]:
    """The image's programs by their path in it, built and rewritten as needed."""
    return {
        "/init": preempted(guest.build_program(SYSTEM / "init.c", BUILD / "system" / "init.wasm", libc=True)),
        "/sbin/linuxwasm-agent": preempted(
            guest.build_program(SYSTEM / "agent.c", BUILD / "system" / "agent.wasm", libc=True)),
        "/bin/busybox": preempted(busybox.build(report)),
    }


def image(report: commands.Report = lambda line: None) -> Initramfs:
    """The system's files, built as needed."""
    files = Initramfs()
    for path, mode in DIRECTORIES.items():
        files.add_dir(path, mode)
    # The kernel opens it for init before devtmpfs is mounted over /dev.
    files.add_char_device("/dev/console", 5, 1)
    files.add_symlink("/var/run", "/run")
    for path, program in programs(report).items():
        # BusyBox is setuid root, as su and passwd need; it drops the
        # privilege for every other applet (FEATURE_SUID).
        files.add_file_from(path, program, mode=0o4755 if path == "/bin/busybox" else 0o755)
    for link in busybox.BUSYBOX_LINKS.read_text().split():
        if link != "/bin/busybox":
            files.add_symlink(link, "/bin/busybox")
    for path in sorted((SYSTEM / "etc").rglob("*")):
        if path.is_file():
            name = path.relative_to(SYSTEM / "etc").as_posix()
            files.add_file_from(f"/etc/{name}", path, mode=0o600 if name in PRIVATE_ETC else 0o644)
    for path, source in DOCUMENTS.items():
        files.add_file_from(path, source, mode=0o644)
    for path, source in SCRIPTS.items():
        files.add_file_from(path, source, mode=0o755)
    for path in sorted((SYSTEM / "bin").iterdir()):
        files.add_file_from(f"/usr/bin/{path.name}", path, mode=0o755)
    zoneinfo.add_to(files)
    # Where modprobe and modinfo look for the kernel's modules: none are
    # installed (a module is built on the host and brought in).
    modules = f"/lib/modules/{recipes.load('linux').version}"
    for folder in ("/lib", "/lib/modules", modules):
        files.add_dir(folder, 0o755)
    files.add_file(f"{modules}/modules.dep", b"")
    return files


def build(output: Path = INITRAMFS, report: commands.Report = lambda line: None) -> Path:
    """Write the system image to output (build/initramfs.cpio.gz), unless it holds these files already.

    Compressing the image is most of the time this takes (half a second):
    every `linuxwasm run` and Machine() asks for it, and it rarely changes.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    files = image(report)
    digest = hashlib.sha256(files.to_bytes(compress=False)).hexdigest()
    stamp = output.with_name(output.name + ".sha256")
    if output.exists() and stamp.exists() and stamp.read_text() == digest:
        return output
    files.write(output)
    stamp.write_text(digest)
    return output
