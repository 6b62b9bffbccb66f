"""linuxwasm bench: the system against native, as ratios from one run.

The same C benchmark (guest/bench.c) is built with musl for the guest and
with the host's cc natively, and the same BusyBox (same configuration) for
the guest and natively with gcc, for the shell loop; both sides run now,
on this machine. Boot times and idle host memory are measured on the
host, around the Node process; the page's, in Debian's headless Chromium
against `linuxwasm serve` (skipped, with the reason, where it cannot run).
"""

import http.server
import re
import shutil
import socket
import socketserver
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from linuxwasm import browser, busybox, disks, forkable, guest, modules, runner, server, system
from linuxwasm.machine import Machine
from linuxwasm.net import Nat
from linuxwasm.switch import Network
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import BUILD, GUEST, REPO


@dataclass(frozen=True)
class Result:
    name: str
    guest: float
    native: float | None
    unit: str
    target: str

    @property
    def ratio(self) -> float | None:
        return self.guest / self.native if self.native else None


# guest/bench.c's figures: fork and fork64 are fork, exit and wait of a
# small process and of one with 64 MiB in use.
MICRO = ("getppid", "spawn", "fork", "fork64", "compute")


def _parse(output: str, names: tuple[str, ...] = MICRO) -> dict[str, tuple[float, str]]:
    values = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in names:
            values[parts[0]] = (float(parts[1]), parts[2])
    if len(values) != len(names):
        raise LinuxWasmError(f"benchmark output incomplete: {output[-300:]!r}")
    return values


def _native(work: Path) -> dict[str, tuple[float, str]]:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise LinuxWasmError("no native C compiler (cc) for the native side of the benchmark")
    binary = work / "bench-native"
    subprocess.run([cc, "-O2", "-o", str(binary), str(GUEST / "bench.c")], check=True)
    return _parse(subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout)


def _guest(kernel: Path, work: Path, coroutines: bool = True, fork: bool = True) -> dict[str, tuple[float, str]]:
    """guest/bench.c as /init; with fork=False built without its fork figures (not rewritten for fork)."""
    name = "bench" if fork else "bench-no-fork"
    program = guest.build_program(GUEST / "bench.c", BUILD / "guest" / f"{name}.wasm", libc=True,
                                  defines=() if fork else ("BENCH_NO_FORK",))
    initramfs = guest.build_initramfs(program, work / f"{name}.cpio.gz")
    # Room for the 64 MiB process and its child's copy.
    cmd = runner.node_command(runner.RunOptions(kernel=kernel, initramfs=initramfs, timeout=600,
                                                coroutines=coroutines, memory_mib=320))
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != runner.EXIT_POWER_OFF:
        raise LinuxWasmError(f"guest benchmark failed: {result.stderr.strip()[:300]}")
    return _parse(result.stdout, MICRO if fork else tuple(n for n in MICRO if not n.startswith("fork")))


def boot_times(kernel: Path, runs: int = 5, coroutines: bool = True) -> list[float]:
    """Seconds from starting Node to the first line /init prints."""
    initramfs = guest.build("init.c", BUILD / "guest" / "init.cpio.gz")
    cmd = runner.node_command(runner.RunOptions(kernel=kernel, initramfs=initramfs, timeout=60,
                                                coroutines=coroutines))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        first = None
        for line in proc.stdout:
            if first is None and line.startswith("hello from wasm userspace"):
                first = time.perf_counter() - start
        proc.wait()
        if first is None:
            raise LinuxWasmError("boot benchmark: /init printed nothing")
        times.append(first)
    return times


PROMPT = b"root@linuxwasm:~# "
SHELL_LOOP = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"


def prompt_times(kernel: Path, runs: int = 5, coroutines: bool = True,
                 attached: tuple[disks.Disk, ...] = ()) -> list[float]:
    """Seconds from starting Node to the login shell's first prompt on the console."""
    cmd = runner.node_command(runner.RunOptions(kernel=kernel, initramfs=system.build(), timeout=60,
                                                coroutines=coroutines, disks=attached))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        seen = b""
        while PROMPT not in seen and (chunk := proc.stdout.read1(4096)):
            seen += chunk
        elapsed = time.perf_counter() - start
        proc.kill()
        proc.wait()
        if PROMPT not in seen:
            raise LinuxWasmError("boot benchmark: no shell prompt")
        times.append(elapsed)
    return times


def _timed(run: Callable[[str], object], command: str) -> float:
    """Seconds command takes, less what an empty command takes (median of 3 each)."""
    def median(cmd: str) -> float:
        samples = []
        for _ in range(3):
            start = time.perf_counter()
            run(cmd)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)
    return median(command) - median("true")


def shell_loop(kernel: Path) -> tuple[float, float]:
    """The same ash loop in the guest and in the same BusyBox built natively, in ms."""
    native = busybox.build_native()
    native_ms = _timed(lambda cmd: subprocess.run([str(native), "ash", "-c", cmd], check=True),
                       SHELL_LOOP) * 1000
    with Machine(kernel, system.build()) as machine:
        guest_ms = _timed(lambda cmd: machine.run(cmd, timeout=120), SHELL_LOOP) * 1000
    return guest_ms, native_ms


def busybox_rewrite() -> dict[str, int]:
    """What the fork rewrite did to BusyBox: bytes before and after, functions rewritten and all."""
    program = busybox.build()
    facts = forkable.report(program)
    if facts is None:
        raise LinuxWasmError(f"{program} is not rewritten for fork")
    return {**facts, "after": program.stat().st_size}


DISK_MB = 256


def _seconds(command: list[str] | str, run: Callable[[str], object] | None = None) -> float:
    """Seconds one run of command takes: on the host, or in a machine if run is given."""
    start = time.perf_counter()
    if run is None:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        run(command)
    return time.perf_counter() - start


def _check(result: object) -> None:
    if getattr(result, "exit_code", 0) != 0:
        raise LinuxWasmError(f"benchmark command failed: {getattr(result, 'stderr', '')[-300:]}")


def disk_figures(kernel: Path, work: Path) -> dict[str, tuple[float, float]]:
    """(guest, native) seconds: 256 MB written with fsync and read back on a disk and on the
    host's file system, and the BusyBox source tarball unpacked into a disk, into a shared
    folder, and natively."""
    tarball = busybox.source_tarball()
    image = work / "bench.img"
    disks.mkdisk(image, (DISK_MB + 128) << 20)
    folder = work / "share"
    folder.mkdir()
    shutil.copy(tarball, folder / "busybox.tar.bz2")
    figures = {}
    native_file = work / "native.bin"
    figures["write"] = (0.0, _seconds(["dd", "if=/dev/zero", f"of={native_file}", "bs=1M",
                                       f"count={DISK_MB}", "conv=fsync"]))
    figures["read"] = (0.0, _seconds(["dd", f"if={native_file}", "of=/dev/null", "bs=1M"]))
    native_file.unlink()
    (work / "native").mkdir()
    figures["unpack"] = (0.0, _seconds(["tar", "-xjf", str(tarball), "-C", str(work / "native")]))
    with Machine(kernel, system.build(), memory_mib=256, disks=[f"{image}:/root"],
                 shares=[f"{folder}:/mnt/share"]) as m:
        def run(command: str) -> None:
            _check(m.run(command, timeout=600))

        write = _seconds(f"dd if=/dev/zero of=/root/f bs=1M count={DISK_MB} conv=fsync 2>/dev/null", run)
        # The first read after boot also compiles the kernel's read path: not counted.
        for _ in range(2):
            run("echo 3 > /proc/sys/vm/drop_caches")
            read = _seconds("dd if=/root/f of=/dev/null bs=1M 2>/dev/null", run)
        run("rm /root/f && cp /mnt/share/busybox.tar.bz2 /root/ && mkdir /root/out /mnt/share/out && sync")
        unpack_disk = _seconds("tar -xjf /root/busybox.tar.bz2 -C /root/out && sync", run)
        unpack_share = _seconds("tar -xjf /mnt/share/busybox.tar.bz2 -C /mnt/share/out", run)
    figures["write"] = (write, figures["write"][1])
    figures["read"] = (read, figures["read"][1])
    figures["unpack disk"] = (unpack_disk, figures["unpack"][1])
    figures["unpack share"] = (unpack_share, figures.pop("unpack")[1])
    return figures


MODULE_LOADS = 50
_CALLS = re.compile(r"callbench: kernel (\d+) ps, module (\d+) ps")


def module_figures(kernel: Path, work: Path) -> dict[str, tuple[float, float | None]]:
    """ms per insmod and rmmod of examples/modules/hello, against the same two
    processes doing nothing; and ns per call from a module into the kernel,
    against a call within the module (guest/modules/callbench)."""
    built = {}
    for source in (REPO / "examples" / "modules" / "hello", GUEST / "modules" / "callbench"):
        folder = work / "modules" / source.name
        shutil.copytree(source, folder)
        (built[source.name],) = modules.build(folder)
    with Machine(kernel, system.build()) as m:
        for name, ko in built.items():
            m.write_file(f"/root/{name}.ko", ko.read_bytes())
        def run(command: str) -> None:
            _check(m.run(command, timeout=120))

        loop = f"for i in $(seq {MODULE_LOADS}); do {{}} || exit 1; done"
        cycle = _seconds(loop.format("insmod /root/hello.ko && rmmod hello"), run) / MODULE_LOADS
        # The same two processes, doing nothing.
        spawns = _seconds(loop.format("/bin/true && /bin/true"), run) / MODULE_LOADS
        r = m.run("insmod /root/callbench.ko && rmmod callbench && dmesg | grep callbench:", timeout=120)
        _check(r)
    calls = _CALLS.search(r.stdout)
    if not calls:
        raise LinuxWasmError(f"callbench printed no figures: {r.stdout[-300:]!r}")
    return {"insmod": (cycle * 1000, spawns * 1000), "call": (int(calls[1]) / 1000, int(calls[2]) / 1000)}


NET_MB = 256
ROUND_TRIPS = 2000


class _Zeros(http.server.BaseHTTPRequestHandler):
    """GET /zeros: NET_MB MB of zeros, from memory."""

    def do_GET(self) -> None:
        chunk = bytes(1 << 20)
        self.send_response(200)
        self.send_header("Content-Length", str(NET_MB << 20))
        self.end_headers()
        for _ in range(NET_MB):
            self.wfile.write(chunk)

    def log_message(self, *args: object) -> None:
        pass


class _Echo(socketserver.BaseRequestHandler):
    """Each byte back, for round trips."""

    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while byte := self.request.recv(1):
            self.request.sendall(byte)


@contextmanager
def _host_server(handler: type) -> Iterator[int]:
    """A threaded server on the host's 127.0.0.1; its port."""
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as served:
        served.daemon_threads = True
        threading.Thread(target=served.serve_forever, daemon=True).start()
        try:
            yield served.server_address[1]
        finally:
            served.shutdown()


def _round_trip(output: str) -> float:
    parts = output.split()
    if len(parts) != 3 or parts[0] != "rr":
        raise LinuxWasmError(f"round trip benchmark failed: {output[-300:]!r}")
    return float(parts[1])


def network_figures(kernel: Path, work: Path) -> dict[str, tuple[float, float]]:
    """(guest, native): seconds for wget of NET_MB MB from a host server through the NAT and for
    NET_MB MB through nc over the loopback, and microseconds per TCP round trip guest to host
    and guest to guest (natively: loopback). Native runs the same BusyBox and the same C."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise LinuxWasmError("no native C compiler (cc) for the native side of the benchmark")
    native_rr = work / "tcp-rr"
    subprocess.run([cc, "-O2", "-o", str(native_rr), str(GUEST / "tcp-rr.c")], check=True)
    guest_rr = guest.build_program(GUEST / "tcp-rr.c", BUILD / "guest" / "tcp-rr.wasm", libc=True)
    native_bb = str(busybox.build_native())
    figures = {}
    pipe = f"{{bb}}nc -l -p 5001 > /dev/null & sleep 0.5; {{bb}}dd if=/dev/zero bs=64k count={NET_MB * 16} " \
           "2>/dev/null | {bb}nc 127.0.0.1 5001; wait"
    native_pipe = _seconds([native_bb, "ash", "-c", pipe.format(bb=f"{native_bb} ")])
    with _host_server(_Zeros) as port:
        native_wget = _seconds([native_bb, "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{port}/zeros"])
        with Machine(kernel, system.build(), net=Nat(host_loopback=True)) as m:
            def run(command: str) -> str:
                result = m.run(command, timeout=600)
                if result.exit_code:
                    raise LinuxWasmError(f"network benchmark failed: {result.stderr[-300:]}")
                return result.stdout

            gateway = run("ip route | awk '/^default/ {print $3}'").strip()
            run(f"wget -q -O /dev/null http://{gateway}:{port}/zeros")  # warm up
            figures["wget"] = (_seconds(f"wget -q -O /dev/null http://{gateway}:{port}/zeros", run), native_wget)
            figures["pipe"] = (_seconds(pipe.format(bb=""), run) - 0.5, native_pipe - 0.5)
            m.write_file("/tmp/tcp-rr", guest_rr.read_bytes(), mode=0o755)
            with _host_server(_Echo) as echo:
                native = _round_trip(subprocess.run([str(native_rr), "127.0.0.1", str(echo), str(ROUND_TRIPS)],
                                                    capture_output=True, text=True).stdout)
                figures["rr host"] = (_round_trip(run(f"/tmp/tcp-rr {gateway} {echo} {ROUND_TRIPS}")), native)
    with subprocess.Popen([str(native_rr), "serve", "5002"], stdout=subprocess.PIPE, text=True) as server:
        server.stdout.readline()
        native = _round_trip(subprocess.run([str(native_rr), "127.0.0.1", "5002", str(ROUND_TRIPS)],
                                            capture_output=True, text=True).stdout)
        server.kill()
    with Network() as lan, Machine(kernel, system.build(), network=lan) as a, \
            Machine(kernel, system.build(), network=lan) as b:
        for m in (a, b):
            m.write_file("/tmp/tcp-rr", guest_rr.read_bytes(), mode=0o755)
        a.run("/tmp/tcp-rr serve 5002 > /tmp/rr.log & until grep -q listening /tmp/rr.log; do sleep 0.1; done")
        figures["rr guests"] = (_round_trip(b.run(f"/tmp/tcp-rr {a.address} 5002 {ROUND_TRIPS}").stdout), native)
    return figures


def idle_rss_mib(kernel: Path, work: Path, coroutines: bool = True) -> float:
    """Resident memory of the Node process of a booted, idle machine."""
    initramfs = guest.build("echo-init.c", work / "echo.cpio.gz", libc=True)
    cmd = runner.node_command(runner.RunOptions(kernel=kernel, initramfs=initramfs, timeout=60,
                                                coroutines=coroutines))
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("echo: ready"):
            break
    time.sleep(1.0)  # let start-up garbage go
    status = Path(f"/proc/{proc.pid}/status").read_text()
    rss_kib = int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
    proc.stdin.write("off\n")
    proc.stdin.close()
    proc.wait(timeout=60)
    return rss_kib / 1024


@dataclass(frozen=True)
class PageFigures:
    boots: list[float]  # seconds from navigation to the prompt, each a cold load
    cold_bytes: int     # sent by the server for a first load, headers included
    reload_bytes: int   # sent for a reload of the same page, after the prompt


def page_figures(site_root: Path, runs: int = 5) -> PageFigures:
    """The page in headless Chromium, from `linuxwasm serve` on this machine."""
    boots, cold, reload = [], 0, 0
    with server.serving(site_root) as httpd, browser.chromium() as chromium:
        for run in range(runs):
            context = chromium.new_context()  # an empty cache: a cold load
            page = context.new_page()
            sent_before = httpd.bytes_sent
            page.goto(server.url_of(httpd))
            browser.wait_for_prompt(page)
            boots.append(page.evaluate("performance.now()") / 1000)
            if run == 0:
                cold = httpd.bytes_sent - sent_before
                sent_before = httpd.bytes_sent
                page.reload()
                browser.wait_for_prompt(page)
                reload = httpd.bytes_sent - sent_before
            context.close()
    return PageFigures(boots, cold, reload)


def run(kernel: Path, site_root: Path | None) -> tuple[list[Result], list[float]]:
    """All figures; the page's too if site_root is given."""
    with tempfile.TemporaryDirectory(prefix="linuxwasm-bench-") as tmp:
        work = Path(tmp)
        native, guest_values = _native(work), _guest(kernel, work)
        unforked = _guest(kernel, work, fork=False)
        boots = boot_times(kernel)
        prompts = prompt_times(kernel)
        loop_guest, loop_native = shell_loop(kernel)
        busybox_fork = busybox_rewrite()
        rss = idle_rss_mib(kernel, work)
        # The same with a host thread per task, the way of engines that
        # cannot switch stacks.
        th_boots = boot_times(kernel, coroutines=False)
        th_prompts = prompt_times(kernel, coroutines=False)
        th_rss = idle_rss_mib(kernel, work, coroutines=False)
        th_values = _guest(kernel, work, coroutines=False)
        page = page_figures(site_root) if site_root else None
        disk = disk_figures(kernel, work)
        network = network_figures(kernel, work)
        module = module_figures(kernel, work)
        image = work / "boot.img"
        disks.mkdisk(image, 64 << 20)
        # In turns, so that both see the same machine's load.
        with_disk, without = [], []
        for _ in range(7):
            with_disk += prompt_times(kernel, runs=1, attached=(disks.Disk(image, "/root"),))
            without += prompt_times(kernel, runs=1)
    results = [
        Result("boot to the first line of /init", statistics.median(boots), None, "s", "< 0.5 s"),
        Result("boot to the shell prompt", statistics.median(prompts), None, "s", "< 0.5 s"),
        Result("ash loop, 200000 iterations", loop_guest, loop_native, "ms", "<= 1.5x native"),
        Result("getppid(), per call", guest_values["getppid"][0], native["getppid"][0], "ns",
               "< 500 ns"),
        Result("posix_spawn + waitpid, median", guest_values["spawn"][0], native["spawn"][0], "us",
               "< 1000 us"),
        Result("fork + _exit + waitpid of a small process, median", guest_values["fork"][0],
               native["fork"][0], "us", "< 2000 us"),
        Result("fork + _exit + waitpid with 64 MiB in use, median", guest_values["fork64"][0],
               native["fork64"][0], "us", ""),
        Result("CPU-bound C loop", guest_values["compute"][0], native["compute"][0], "ms",
               "<= 1.5x native"),
        Result("CPU-bound C loop in a program rewritten for fork (against not)", guest_values["compute"][0],
               unforked["compute"][0], "ms", ""),
        Result("BusyBox rewritten for fork, size (against not)", busybox_fork["after"] / 1e6,
               busybox_fork["bytes_before"] / 1e6, "MB", ""),
        Result("BusyBox rewritten for fork, functions rewritten (of all)", busybox_fork["rewritten"],
               busybox_fork["functions"], "", ""),
        Result("host memory of an idle machine (RSS)", rss, None, "MiB", "< 96 MiB"),
        Result("boot to the prompt with a disk on /root (against without)", statistics.median(with_disk),
               statistics.median(without), "s", "<= 1.1x"),
        Result(f"disk: write {DISK_MB} MB, dd conv=fsync", *disk["write"], "s", "<= 2x native"),
        Result(f"disk: read {DISK_MB} MB, dd (guest cache dropped)", *disk["read"], "s", "<= 2x native"),
        Result("disk: unpack the BusyBox source (tar -xjf)", *disk["unpack disk"], "s", ""),
        Result("shared folder: unpack the BusyBox source", *disk["unpack share"], "s", ""),
        Result(f"network: wget {NET_MB} MB from a host server, through the NAT", *network["wget"], "s",
               "<= 4x native"),
        Result(f"network: {NET_MB} MB through nc over the loopback", *network["pipe"], "s", ""),
        Result("network: TCP round trip, guest to host (NAT)", *network["rr host"], "us", ""),
        Result("network: TCP round trip, guest to guest (switch; native: loopback)", *network["rr guests"],
               "us", ""),
        Result("module: insmod + rmmod of hello (against two /bin/true)", *module["insmod"], "ms", ""),
        Result("module: a call into the kernel (against one within the module)", *module["call"], "ns", ""),
        Result("threads: boot to the first line of /init", statistics.median(th_boots), None, "s", ""),
        Result("threads: boot to the shell prompt", statistics.median(th_prompts), None, "s", ""),
        Result("threads: posix_spawn + waitpid, median", th_values["spawn"][0], native["spawn"][0], "us", ""),
        Result("threads: fork + _exit + waitpid, median", th_values["fork"][0], native["fork"][0], "us", ""),
        Result("threads: host memory of an idle machine (RSS)", th_rss, None, "MiB", ""),
    ]
    if page:
        results += [
            Result("page: cold load to the shell prompt, Chromium", statistics.median(page.boots), None, "s",
                   "< 1 s"),
            Result("page: bytes sent for a cold load", page.cold_bytes / 1e6, None, "MB", ""),
            Result("page: bytes sent for a reload", page.reload_bytes / 1000, None, "kB", ""),
        ]
    return results, boots
