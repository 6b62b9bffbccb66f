"""Disks: ext4 images on virtio block devices, from mkdisk to the guest and
back, checked with the host's e2fsck; read-only, snapshot and root disks;
a host killed mid-write; and bad input, each a one-line error."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from linuxwasm import Machine, MachineError, disks, guest, system
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import BUILD

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "linuxwasm.cli"]
E2FSCK = shutil.which("e2fsck") or "/usr/sbin/e2fsck"
DEBUGFS = shutil.which("debugfs") or "/usr/sbin/debugfs"

pytestmark = pytest.mark.skipif(not Path(E2FSCK).exists(), reason="e2fsprogs is needed (make deps)")


@pytest.fixture(scope="module")
def image() -> Path:
    return system.build()


def fsck(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([E2FSCK, "-fn", str(path)], capture_output=True, text=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make(tmp_path: Path, name: str = "home.img", size: str = "32M", source: Path | None = None) -> Path:
    path = tmp_path / name
    disks.mkdisk(path, disks.parse_size(size), source)
    return path


# -- specs and images ---------------------------------------------------------

@pytest.mark.parametrize("spec, disk", [
    ("home.img", disks.Disk(Path("home.img"))),
    ("home.img:/root", disks.Disk(Path("home.img"), "/root")),
    ("home.img:/root:ro", disks.Disk(Path("home.img"), "/root", "ro")),
    ("a:b.img:/mnt/x/:snapshot", disks.Disk(Path("a:b.img"), "/mnt/x", "snapshot")),
    ("root.img:/", disks.Disk(Path("root.img"), "/")),
    ("scratch.img:ro", disks.Disk(Path("scratch.img"), None, "ro")),
])
def test_disk_specs(spec, disk):
    assert disks.parse_disk(spec) == disk


@pytest.mark.parametrize("spec, message", [
    ("x.img:/proc", "cannot mount on /proc"),
    ("x.img:/a b", "must be an absolute guest path"),
    ("x.img:/a/../b", "without '..'"),
])
def test_bad_disk_specs(spec, message):
    with pytest.raises(LinuxWasmError, match=message):
        disks.parse_disk(spec)


def test_device_names():
    assert [disks.device_name(i) for i in (0, 1, 25, 26)] == ["vda", "vdb", "vdz", "vdaa"]


def test_mkdisk_makes_a_clean_image_whose_files_are_roots(tmp_path):
    source = tmp_path / "files"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "hello.txt").write_text("hello\n")
    path = make(tmp_path, source=source)
    assert fsck(path).returncode == 0
    stat = subprocess.run([DEBUGFS, "-R", "stat /sub/hello.txt", str(path)], capture_output=True, text=True)
    assert "User:     0   Group:     0" in stat.stdout
    dump = subprocess.run([DEBUGFS, "-R", "cat /sub/hello.txt", str(path)], capture_output=True, text=True)
    assert dump.stdout == "hello\n"


def test_mkdisk_refuses_to_overwrite(tmp_path):
    path = tmp_path / "x.img"
    path.write_bytes(b"precious")
    done = subprocess.run([*CLI, "mkdisk", str(path), "--size", "8M"], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == f"linuxwasm: {path}: already exists (mkdisk makes a new image)"
    assert path.read_bytes() == b"precious"


# -- in the guest -------------------------------------------------------------

def test_what_is_written_is_there_at_the_next_boot(kernel_image, image, tmp_path):
    path = make(tmp_path)
    with Machine(kernel_image, image, disks=[f"{path}:/root"]) as m:
        assert m.notices == []
        r = m.run("echo kept > /root/note && mkdir /root/d && ln -s ../note /root/d/link && sync; "
                  "grep ' /root ' /proc/mounts; cat /proc/partitions; df -h /root")
        assert r.exit_code == 0, r.stderr
        assert r.stdout.startswith("/dev/vda /root ext4 rw,relatime")
        assert " 254        0      32768 vda" in r.stdout
        assert "/dev/vda" in r.stdout.splitlines()[-1]
    check = fsck(path)
    assert check.returncode == 0, check.stdout
    with Machine(kernel_image, image, disks=[f"{path}:/root"]) as m:
        assert m.run("cat /root/note /root/d/link").stdout == "kept\nkept\n"


def test_two_disks_are_vda_and_vdb(kernel_image, image, tmp_path):
    first, second = make(tmp_path, "a.img"), make(tmp_path, "b.img", "16M")
    with Machine(kernel_image, image, disks=[f"{first}:/a", f"{second}:/data/b"]) as m:
        r = m.run("grep ^/dev/vd /proc/mounts | cut -d' ' -f1-3")
        assert r.stdout == "/dev/vda /a ext4\n/dev/vdb /data/b ext4\n"


def test_a_large_file_keeps_its_checksum(kernel_image, image, tmp_path):
    path = make(tmp_path, size="160M")
    with Machine(kernel_image, image, disks=[f"{path}:/root"], memory_mib=256) as m:
        r = m.run("dd if=/dev/urandom of=/root/big bs=1M count=100 conv=fsync 2>/dev/null && "
                  "sha256sum /root/big", timeout=300)
        assert r.exit_code == 0, r.stderr
        written = r.stdout.split()[0]
    with Machine(kernel_image, image, disks=[f"{path}:/root"]) as m:
        r = m.run("ls -l /root/big | awk '{print $5}'; sha256sum /root/big", timeout=300)
        size, digest = r.stdout.split()[:2]
        assert (int(size), digest) == (100 << 20, written)
    assert fsck(path).returncode == 0


def test_a_read_only_disk_refuses_writes_and_stays_as_it_was(kernel_image, image, tmp_path):
    source = tmp_path / "files"
    source.mkdir()
    (source / "a").write_text("a\n")
    path = make(tmp_path, source=source)
    before = sha256(path)
    with Machine(kernel_image, image, disks=[f"{path}:/mnt:ro"]) as m:
        r = m.run("cat /mnt/a; echo x > /mnt/b")
        assert r.stdout == "a\n"
        assert "Read-only file system" in r.stderr
    assert sha256(path) == before


def test_a_snapshot_disk_writes_are_gone_at_power_off(kernel_image, image, tmp_path):
    path = make(tmp_path)
    before = sha256(path)
    with Machine(kernel_image, image, disks=[f"{path}:/root:snapshot"]) as m:
        assert m.run("echo x > /root/new && sync && cat /root/new").stdout == "x\n"
    assert sha256(path) == before
    with Machine(kernel_image, image, disks=[f"{path}:/root:snapshot"]) as m:
        assert m.run("ls /root").stdout == "lost+found\n"


def test_the_root_file_system_on_a_disk(kernel_image, tmp_path):
    path = tmp_path / "root.img"
    done = subprocess.run([*CLI, "mkdisk", str(path), "--size", "64M", "--system"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Machine(kernel_image, None, disks=[f"{path}:/"]) as m:
        r = m.run("grep ' / ' /proc/mounts; echo on-disk > /etc/motd-test; ls /bin/busybox")
        assert r.stdout == "/dev/root / ext4 rw,relatime 0 0\n/bin/busybox\n", r.stderr
    assert fsck(path).returncode == 0
    with Machine(kernel_image, None, disks=[f"{path}:/"]) as m:
        assert m.run("cat /etc/motd-test").stdout == "on-disk\n"


def test_a_killed_host_leaves_a_journal_that_the_next_boot_recovers(kernel_image, image, tmp_path):
    path = make(tmp_path, size="64M")
    m = Machine(kernel_image, image, disks=[f"{path}:/root"]).start()
    try:
        m.run("mkdir /root/safe && echo before > /root/safe/f && sync")
        pid = m.pid
        stopped = []

        def write_until_killed() -> None:
            try:
                m.run("while :; do seq 1 2000 > /root/file.$RANDOM; done", timeout=60)
            except MachineError as e:
                stopped.append(str(e))

        # Writes in flight when the host dies.
        runner = threading.Thread(target=write_until_killed, daemon=True)
        runner.start()
        time.sleep(3)
        os.kill(pid, signal.SIGKILL)
        runner.join(30)
        assert stopped and "exit status -9" in stopped[0]
    finally:
        m.close()
    with Machine(kernel_image, image, disks=[f"{path}:/root"]) as m:
        assert m.notices == []
        assert m.run("cat /root/safe/f").stdout == "before\n"
        assert "recovery complete" in m.run("dmesg").stdout
    check = fsck(path)
    assert check.returncode == 0, check.stdout


# -- bad input ------------------------------------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "run", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_a_missing_image_is_one_line(tmp_path):
    done = run_cli("--disk", f"{tmp_path}/nope.img:/root", "-c", "true")
    assert done.returncode == 1
    assert done.stderr == f"linuxwasm: {tmp_path}/nope.img: disk image not found\n"


def test_an_image_read_only_on_the_host_is_refused_read_write(tmp_path):
    path = make(tmp_path)
    path.chmod(0o444)
    # Root may write whatever the mode says: for root, the image is immutable (e2fsprogs' chattr).
    immutable = os.geteuid() == 0
    if immutable:
        subprocess.run([shutil.which("chattr") or "/usr/bin/chattr", "+i", str(path)], check=True)
    try:
        done = run_cli("--disk", f"{path}:/root", "-c", "true")
        assert done.returncode == 1
        assert done.stderr.startswith(f"linuxwasm: {path}: disk image is read-only on the host")
        assert run_cli("--disk", f"{path}:/root:ro", "-c", "ls /root").stdout == "lost+found\n"
    finally:
        if immutable:
            subprocess.run([shutil.which("chattr") or "/usr/bin/chattr", "-i", str(path)], check=True)


def test_what_is_not_a_file_system_boots_and_says_why(kernel_image, image, tmp_path):
    path = tmp_path / "junk.img"
    path.write_bytes(os.urandom(1 << 20))
    before = sha256(path)
    done = run_cli("--disk", f"{path}:/root", "-c", "echo booted")
    assert done.returncode == 0
    assert done.stdout == "booted\n"
    assert done.stderr.startswith("linuxwasm: guest: cannot mount /dev/vda on /root: Invalid argument (EXT4-fs (vda)")
    assert len(done.stderr.splitlines()) == 1
    assert sha256(path) == before


def test_a_truncated_image_boots_and_says_why(kernel_image, image, tmp_path):
    path = make(tmp_path)
    with open(path, "r+b") as f:
        f.truncate(8 << 20)
    with Machine(kernel_image, image, disks=[f"{path}:/root"]) as m:
        assert len(m.notices) == 1
        assert m.notices[0].startswith("cannot mount /dev/vda on /root:")
        assert "EXT4-fs (vda)" in m.notices[0]
        assert m.run("echo alive").stdout == "alive\n"


def test_a_second_machine_cannot_open_a_disk_in_use(kernel_image, image, tmp_path):
    path = make(tmp_path)
    with Machine(kernel_image, image, disks=[f"{path}:/root"]):
        with pytest.raises(LinuxWasmError, match="disk image in use by another machine"):
            Machine(kernel_image, image, disks=[f"{path}:/root"]).start()
        with pytest.raises(LinuxWasmError, match="in use by another machine that writes to it"):
            Machine(kernel_image, image, disks=[f"{path}:/root:ro"]).start()
        # A snapshot reads what is on the host's disk, under a shared lock: refused too.
        with pytest.raises(LinuxWasmError, match="in use"):
            Machine(kernel_image, image, disks=[f"{path}:/root:snapshot"]).start()
    # Free again once the first is off.
    with Machine(kernel_image, image, disks=[f"{path}:/root:ro"]):
        with Machine(kernel_image, image, disks=[f"{path}:/root:snapshot"]) as second:
            assert second.run("ls /root").stdout == "lost+found\n"


def test_direct_io_is_refused(kernel_image, image, tmp_path):
    """The kernel cannot pin a wasm process's pages (they are not in its
    memory): O_DIRECT on a mapped buffer fails with EFAULT, and the file
    and the kernel stay as they were (kernel patch 0014)."""
    program = guest.build_program(REPO / "guest" / "direct.c", BUILD / "guest" / "direct.wasm", libc=True)
    path = make(tmp_path)
    with Machine(kernel_image, image, disks=[f"{path}:/root"]) as m:
        m.write_file("/root/direct", program.read_bytes(), mode=0o755)
        r = m.run("head -c 16384 /dev/urandom > /root/f && sha256sum /root/f && sync && "
                  "echo 3 > /proc/sys/vm/drop_caches && /root/direct /root/f && sha256sum /root/f", timeout=60)
        lines = r.stdout.splitlines()
        assert lines[1:5] == [f"{what}: Bad address" for what in (
            "write from a file mapping", "read into a file mapping",
            "write from an anonymous mapping", "read into an anonymous mapping")], r
        assert lines[0] == lines[5]
        assert m.run("echo alive").stdout == "alive\n"


def test_a_read_only_disk_that_needs_its_journal_replayed_mounts_as_it_was(kernel_image, image, tmp_path):
    """Left by a killed host (or in use elsewhere), a read-only disk cannot
    replay its journal: it is mounted without, and the user is told."""
    path = make(tmp_path)
    m = Machine(kernel_image, image, disks=[f"{path}:/root"]).start()
    try:
        m.run("echo synced > /root/f && sync")
        os.kill(m.pid, signal.SIGKILL)
    finally:
        m.close()
    before = sha256(path)
    with Machine(kernel_image, image, disks=[f"{path}:/root:ro"]) as m:
        assert m.notices == ["/dev/vda on /root: its journal was not replayed (it was not unmounted cleanly, "
                             "or is in use): what was written last may be missing"]
        assert m.run("grep ' /root ' /proc/mounts | cut -d' ' -f4").stdout == "ro,relatime,norecovery\n"
    assert sha256(path) == before
