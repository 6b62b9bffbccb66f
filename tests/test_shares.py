"""Shared folders: a host folder mounted in the guest over 9p. File
operations from the guest land in the host's folder and back; nothing
outside the folder is reachable, whatever the guest tries (a secret file
sits next to the shared folder); :ro refuses writes. The server alone,
against a hostile client, is tests/fixtures/ninep_client.mjs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from linuxwasm import Machine, nodejs, shares, system
from linuxwasm.errors import LinuxWasmError

CLI = [sys.executable, "-m", "linuxwasm.cli"]
CLIENT = Path(__file__).parent / "fixtures" / "ninep_client.mjs"


@pytest.fixture(scope="module")
def image() -> Path:
    return system.build()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A shared folder with a secret next to it, and symlinks that point out."""
    (tmp_path / "secret.txt").write_text("the host's secret\n")
    share = tmp_path / "share"
    share.mkdir()
    (share / "inside.txt").write_text("inside\n")
    (share / "out-file").symlink_to("../secret.txt")
    (share / "out").symlink_to("..")
    (share / "abs").symlink_to(str(tmp_path / "secret.txt"))
    os.mkfifo(share / "fifo")
    return share


# -- the server against a hostile client ---------------------------------------

def client(scenario: str, folder: Path, read_only: bool = False) -> dict:
    cmd = [str(nodejs.build()), str(CLIENT), scenario, str(folder)] + (["ro"] if read_only else [])
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


EINVAL, ENOTDIR, ENOENT, ELOOP, EOPNOTSUPP, EROFS, EBADF, EPROTO = 22, 20, 2, 40, 95, 30, 9, 71


def test_the_server_keeps_a_hostile_client_inside(folder):
    got = client("escapes", folder)
    assert got == {
        # ".." at the root stays there: the third name is then looked for in the share.
        "dotdot": {"qids": 2}, "dotdotRoot": {"qids": 1},
        "slash": {"error": EINVAL}, "absolute": {"error": EINVAL},
        # A symlink is walked to, never through.
        "throughOut": {"qids": 1}, "throughAbsolute": {"qids": 1},
        "openLink": {"error": ELOOP}, "linkTarget": {"target": "../secret.txt"},
        "createSlash": {"error": EINVAL}, "createDot": {"error": EINVAL},
        "renameOut": {"error": EINVAL}, "unlinkOut": {"error": EINVAL},
        "fifo": {"error": EOPNOTSUPP}, "listOut": {"error": ELOOP},
    }
    assert (folder.parent / "secret.txt").read_text() == "the host's secret\n"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["secret.txt", "share"]


def test_the_server_reads_writes_and_lists(folder):
    got = client("files", folder)
    assert got["created"] == "ok" and got["wrote"] == {"count": 13}
    assert got["back"] == {"text": "hello, share\n"}
    assert got["top"] == [".", "..", "abs", "fifo", "inside.txt", "out", "out-file", "sub"]
    assert got["sub"] == [".", "..", "link", "moved.txt"]
    assert (folder / "sub" / "moved.txt").read_text() == "hello, share\n"
    assert os.readlink(folder / "sub" / "link") == "../new.txt"


def test_a_read_only_share_refuses_every_write(folder):
    got = client("readOnly", folder, read_only=True)
    assert got == {"create": {"error": EROFS}, "mkdir": {"error": EROFS}, "unlink": {"error": EROFS},
                   "openWrite": {"error": EROFS}, "read": {"text": "inside\n"}}
    assert sorted(p.name for p in folder.iterdir()) == ["abs", "fifo", "inside.txt", "out", "out-file"]


def test_malformed_requests_get_errors(folder):
    assert client("garbage", folder) == {
        "short": {"error": EPROTO}, "lying": {"error": EPROTO}, "wrongSize": {"error": EPROTO},
        "unknown": {"error": EOPNOTSUPP}, "badFid": {"error": EBADF}, "tooMany": {"error": EINVAL},
        "fidTaken": {"error": EBADF},
    }


# -- in the guest -----------------------------------------------------------------

def test_file_operations_from_the_guest(kernel_image, image, folder):
    with Machine(kernel_image, image, shares=[f"{folder}:/mnt/project"]) as m:
        assert m.notices == []
        r = m.run("cd /mnt/project && cat inside.txt && echo made > new.txt && mkdir -p d/e && "
                  "mv new.txt d/e/moved.txt && ln -s e/moved.txt d/link && cat d/link && "
                  "echo more >> d/e/moved.txt && ls -l d/e/moved.txt | awk '{print $1, $5}' && "
                  "rm inside.txt && ls && grep ' /mnt/project ' /proc/mounts | cut -d' ' -f1-3")
        assert r.exit_code == 0, r.stderr
        assert r.stdout == ("inside\nmade\n-rw-r--r-- 10\nabs\nd\nfifo\nout\nout-file\n"
                            "share0 /mnt/project 9p\n")
    assert (folder / "d" / "e" / "moved.txt").read_text() == "made\nmore\n"
    assert os.readlink(folder / "d" / "link") == "e/moved.txt"
    assert not (folder / "inside.txt").exists()


def test_the_guest_cannot_reach_outside_the_folder(kernel_image, image, folder):
    with Machine(kernel_image, image, shares=[f"{folder}:/mnt/project"]) as m:
        r = m.run("cd /mnt/project; cat ../secret.txt out-file out/secret.txt abs 2>&1; "
                  "cat /mnt/project/../secret.txt 2>&1; ls out/ 2>&1; "
                  "ln -s /etc/passwd mine && cat mine | head -1", timeout=60)
        assert "the host's secret" not in r.stdout
        # The guest resolves symlinks in its own tree: /etc/passwd is the guest's.
        assert r.stdout.splitlines()[-1].startswith("root:x:0:0")
    assert os.readlink(folder / "mine") == "/etc/passwd"


def test_large_files_and_big_folders(kernel_image, image, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    many = share / "many"
    many.mkdir()
    for i in range(10000):
        (many / f"f{i:05d}").touch()
    (share / "big").write_bytes(os.urandom(20 << 20))
    import hashlib
    digest = hashlib.sha256((share / "big").read_bytes()).hexdigest()
    with Machine(kernel_image, image, shares=[f"{share}:/mnt/s"], memory_mib=256) as m:
        r = m.run("ls /mnt/s/many | wc -l; ls /mnt/s/many | tail -1; sha256sum /mnt/s/big | cut -d' ' -f1; "
                  "cp /mnt/s/big /mnt/s/copy && sync", timeout=300)
        assert r.stdout.split() == ["10000", "f09999", digest], r.stderr
    assert hashlib.sha256((share / "copy").read_bytes()).hexdigest() == digest


def test_a_read_only_share(kernel_image, image, folder):
    with Machine(kernel_image, image, shares=[f"{folder}:/mnt/p:ro"]) as m:
        r = m.run("cat /mnt/p/inside.txt; echo x > /mnt/p/new 2>&1; rm /mnt/p/inside.txt 2>&1")
        assert r.stdout.startswith("inside\n")
        assert "Read-only file system" in r.stdout + r.stderr
    assert (folder / "inside.txt").read_text() == "inside\n"
    assert not (folder / "new").exists()


def test_a_missing_folder_is_one_line(tmp_path):
    done = subprocess.run([*CLI, "run", "--share", f"{tmp_path}/nope:/mnt", "-c", "true"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr == f"linuxwasm: {tmp_path}/nope: shared folder not found\n"


@pytest.mark.parametrize("spec, share", [
    ("./p:/mnt/p", shares.Share(Path("p"), "/mnt/p")),
    ("a:b:/mnt:ro", shares.Share(Path("a:b"), "/mnt", "ro")),
])
def test_share_specs(spec, share):
    assert shares.parse_share(spec) == share


@pytest.mark.parametrize("spec", ["p", "p:mnt", "p:/proc/x", "p:/"])
def test_bad_share_specs(spec):
    with pytest.raises(LinuxWasmError):
        shares.parse_share(spec)


# -- against the reference server ---------------------------------------------------

OPERATIONS = r"""
cd /mnt/s
echo one > a; echo two >> a; cat a
printf 'x%.0s' $(seq 1 5000) > big; wc -c < big
mkdir -p d/e; mv a d/e/b; ls d/e
ln -s e/b d/link; readlink d/link; cat d/link
ln d/e/b hard; stat -c '%n %s %h %a %F' hard d/e/b d/link d
chmod 600 hard; stat -c '%a' d/e/b
truncate -s 3 hard; cat d/e/b; echo
touch -d '2020-01-02 03:04:05' big; stat -c '%Y' big
cp big copy; cmp big copy && echo same
mkdir d 2>&1; rmdir d 2>&1; rm nothing 2>&1; cat d 2>&1
ls -a . d | sort
rm -r d; rm hard copy; ls -a
echo $(ls inside.txt)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="diod serves other users (the guest's root) only when run as root")
def test_the_same_operations_give_the_same_results_as_diod(kernel_image, image, tmp_path):
    results = {}
    for server in shares.SERVERS:
        folder = tmp_path / server
        folder.mkdir()
        (folder / "inside.txt").write_text("inside\n")
        share = shares.Share(folder, "/mnt/s", server=server)
        with Machine(kernel_image, image, shares=[share]) as m:
            assert m.notices == []
            r = m.run(OPERATIONS, timeout=120)
        tree = sorted((str(p.relative_to(folder)), p.is_symlink(), p.read_bytes() if p.is_file() else b"")
                      for p in folder.rglob("*"))
        results[server] = (r.exit_code, r.stdout, r.stderr, tree)
    assert results["linuxwasm"] == results["diod"]
    assert "same" in results["diod"][1]
