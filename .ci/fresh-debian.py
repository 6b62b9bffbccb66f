#!/usr/bin/env python3
"""Run the README's `make test` and `make run` on a Debian 12 that has nothing else installed.

A user's fresh Debian 12 has far less than a developer's machine: this
builds a minimal root with debootstrap (minbase plus what the README
assumes: python3, python3-venv, make, git, ca-certificates), copies the
checkout into it, and runs `make test` there as root, with no terminal
(in a mount namespace whose root it is, not a chroot: see in_root()).
Any step that relies on something the Makefile does not install fails
here. Then `make run` must serve the page.

From the host it takes only what a machine's own setup would give it, not
the project's: the certificate authorities and apt settings through which
this machine reaches the registries, and the proxy variables. The download
cache (checked sources, each verified again), ccache and apt's package
cache are shared with the host to save time; the artifact cache is not, so
the kernel, musl and BusyBox are built in the root.

    sudo python3 .ci/fresh-debian.py [--keep]

Needs root and debootstrap (installed here if missing). Uses only the
standard library of Debian 12's Python.
"""

import argparse
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("LINUXWASM_CACHE", Path.home() / ".cache" / "linuxwasm"))
WORK = CACHE / "fresh-debian"
ROOT = WORK / "root"
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
# What the README says a machine has before its two commands.
BASE_PACKAGES = ("python3", "python3-venv", "make", "git", "ca-certificates")
SOURCES = f"""\
deb {MIRROR} {SUITE} main
deb {MIRROR} {SUITE}-updates main
deb http://deb.debian.org/debian-security {SUITE}-security main
"""
# Where the project lives in the root, and the caches it may share.
CHECKOUT = Path("/root/linuxwasm")
SHARED_CACHES = ("downloads", "ccache")
# Variables that say how this machine reaches the network, nothing else:
# proxies, and where the certificate authorities are (the same path in the
# root, once update-ca-certificates has added this machine's).
NETWORK_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                     "PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS")


class CheckError(Exception):
    pass


def say(line: str) -> None:
    print(f"fresh-debian: {line}", flush=True)


def run(cmd: list[str], what: str, **kwargs) -> None:
    """Run a setup step, its output into WORK/setup.log; failure names the log's last line."""
    log = WORK / "setup.log"
    WORK.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, **kwargs)
    if result.returncode:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        raise CheckError(f"{what} failed (exit status {result.returncode}): {lines[-1] if lines else ''}; "
                         f"see {log}")


def bootstrap() -> None:
    """A new minimal root, its packages from Debian (cached between runs)."""
    remove_root()
    (WORK / "setup.log").unlink(missing_ok=True)
    debs = WORK / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    say(f"debootstrap {SUITE} (minbase + {', '.join(BASE_PACKAGES)})")
    run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
         f"--cache-dir={debs}", SUITE, str(ROOT), MIRROR], "debootstrap")
    (ROOT / "etc/apt/sources.list").write_text(SOURCES)


def copy_environment() -> None:
    """This machine's way to the registries: name servers, CA certificates, apt settings."""
    shutil.copy("/etc/resolv.conf", ROOT / "etc/resolv.conf")
    local_cas = Path("/usr/local/share/ca-certificates")
    if local_cas.is_dir():
        shutil.copytree(local_cas, ROOT / local_cas.relative_to("/"), dirs_exist_ok=True)
        run(["chroot", str(ROOT), "update-ca-certificates"], "update-ca-certificates")
    # pip's own certificate bundle does not know this machine's authorities.
    (ROOT / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    for conf in Path("/etc/apt/apt.conf.d").glob("*"):
        text = conf.read_text(errors="replace")
        if "Acquire::" in text and "Dir::Cache" not in text:
            shutil.copy(conf, ROOT / "etc/apt/apt.conf.d" / conf.name)


def copy_checkout() -> None:
    """The working tree's files that git knows (tracked or new, not ignored)."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=True).stdout
    target = ROOT / CHECKOUT.relative_to("/")
    for name in sorted(set(listed.decode().split("\0")) - {""}):
        source = REPO / name
        if source.is_file() or source.is_symlink():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination, follow_symlinks=False)


MOUNTS: list[Path] = []


def bind(source: Path, inside: str) -> None:
    target = ROOT / inside.lstrip("/")
    target.mkdir(parents=True, exist_ok=True)
    run(["mount", "--rbind", str(source), str(target)], f"mount {inside}")
    run(["mount", "--make-rslave", str(target)], f"mount {inside}")
    MOUNTS.append(target)


def mount_all() -> None:
    for system in ("/proc", "/sys", "/dev"):
        bind(Path(system), system)
    for name in SHARED_CACHES:
        (CACHE / name).mkdir(parents=True, exist_ok=True)
        bind(CACHE / name, f"/root/.cache/linuxwasm/{name}")
    apt_cache = WORK / "apt-archives"
    apt_cache.mkdir(parents=True, exist_ok=True)
    bind(apt_cache, "/var/cache/apt/archives")


def mounted_inside() -> list[str]:
    mounted = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return sorted((m for m in mounted if m.startswith(str(ROOT) + "/")), key=len, reverse=True)


def unmount_all() -> None:
    for point in mounted_inside():
        subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL)


def remove_root() -> None:
    """Delete the root, never what is mounted into it (the host's /dev, the caches)."""
    unmount_all()
    if still := mounted_inside():
        raise CheckError(f"{still[0]} is still mounted: not deleting {ROOT}")
    shutil.rmtree(ROOT, ignore_errors=True)


def _environment() -> dict[str, str]:
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root", "LANG": "C.UTF-8", "CI": os.environ.get("CI", "true"),
        # Here a test that skips for a missing tool means a missing install step.
        "LINUXWASM_NO_SKIPS": "1",
    }
    return env | {name: os.environ[name] for name in NETWORK_VARIABLES if name in os.environ}


def in_root(command: str) -> list[str]:
    """command, run with ROOT as the root of a mount namespace of its own, as a machine of its own has
    it. Not chroot: the kernel refuses a chrooted process a user namespace, which passt (the NAT behind
    the guest's network card) makes for its sandbox, and which a real Debian 12 allows."""
    enter = (f"mount --rbind {ROOT} {ROOT} && cd {ROOT} && mkdir -p .host && pivot_root . .host && "
             f"cd / && umount -l /.host && rmdir /.host && exec sh -c {shlex.quote(command)}")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", enter]


def make_test() -> int:
    say(f"make test in {CHECKOUT}")
    started = time.monotonic()
    result = subprocess.run(in_root(f"cd {CHECKOUT} && exec make test"), env=_environment(),
                            stdin=subprocess.DEVNULL)
    say(f"make test exit status {result.returncode} after {time.monotonic() - started:.0f} s")
    return result.returncode


def make_run(timeout: float = 300) -> int:
    """The README's other command: `make run` serves the page; fetch it, then stop it."""
    with socket.socket() as probe:  # a free port of this machine (the root shares its network)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    say(f"make run PORT={port}")
    server = subprocess.Popen(in_root(f"cd {CHECKOUT} && exec make run PORT={port}"),
                              env=_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert server.stdout is not None
    deadline = time.monotonic() + timeout
    try:
        for line in server.stdout:
            print(line, end="", flush=True)
            if line.startswith("open http://"):
                url = line.split()[1]
                with urllib.request.urlopen(url, timeout=30) as page:
                    body = page.read().decode(errors="replace")
                if "<title>linuxwasm</title>" not in body:
                    say(f"make run: {url} did not serve the page")
                    return 1
                say(f"make run served the page at {url}")
                return 0
            if time.monotonic() > deadline:
                break
        say(f"make run ended or gave no address (exit status {server.poll()})")
        return 1
    except OSError as e:
        say(f"make run: cannot fetch the page: {e}")
        return 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true",
                        help=f"leave the root in {ROOT} (it is replaced on the next run anyway)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("fresh-debian: needs root (debootstrap, chroot, mount, unshare)", file=sys.stderr)
        return 2
    try:
        if shutil.which("debootstrap") is None:
            say("installing debootstrap")
            run(["apt-get", "update", "-qq"], "apt-get update")
            run(["apt-get", "install", "-y", "-qq", "debootstrap"], "apt-get install debootstrap",
                env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})
        bootstrap()
        copy_environment()
        copy_checkout()
        mount_all()
        try:
            status = make_test() or make_run()
        finally:
            unmount_all()
        if not args.keep:
            remove_root()
        return status
    except CheckError as e:
        unmount_all()
        print(f"fresh-debian: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
