"""The system image: BusyBox, /init, the agent and /etc (see system/README.md)."""

from pathlib import Path

from linuxwasm import busybox, commands, guest
from linuxwasm.initramfs import Initramfs
from linuxwasm.paths import BUILD, INITRAMFS, SYSTEM

DIRECTORIES = {
    "/bin": 0o755, "/sbin": 0o755, "/usr/bin": 0o755, "/usr/sbin": 0o755,
    "/dev": 0o755, "/proc": 0o555, "/sys": 0o555, "/run": 0o755, "/tmp": 0o1777,
    "/root": 0o700, "/home": 0o755, "/mnt": 0o755, "/var": 0o755, "/etc": 0o755,
}


def image(report: commands.Report = lambda line: None) -> Initramfs:
    """The system's files, built as needed."""
    box = busybox.build(report)
    init = guest.build_program(SYSTEM / "init.c", BUILD / "system" / "init.wasm", libc=True)
    agent = guest.build_program(SYSTEM / "agent.c", BUILD / "system" / "agent.wasm", libc=True)

    files = Initramfs()
    for path, mode in DIRECTORIES.items():
        files.add_dir(path, mode)
    # The kernel opens it for init before devtmpfs is mounted over /dev.
    files.add_char_device("/dev/console", 5, 1)
    files.add_file_from("/init", init, mode=0o755)
    files.add_file_from("/sbin/linuxwasm-agent", agent, mode=0o755)
    files.add_file_from("/bin/busybox", box, mode=0o755)
    for link in busybox.BUSYBOX_LINKS.read_text().split():
        if link != "/bin/busybox":
            files.add_symlink(link, "/bin/busybox")
    for path in sorted((SYSTEM / "etc").rglob("*")):
        if path.is_file():
            files.add_file_from("/etc/" + path.relative_to(SYSTEM / "etc").as_posix(), path, mode=0o644)
    return files


def build(output: Path = INITRAMFS, report: commands.Report = lambda line: None) -> Path:
    """Write the system image to output (build/initramfs.cpio.gz)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    image(report).write(output)
    return output
