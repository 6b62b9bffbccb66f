"""The linuxwasm command: build, run, serve, export, bench, soak."""

import argparse
import os
import shutil
import signal
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from rich.console import Console

from linuxwasm import (bench, browser, copies, disks, kernel, modules, musl, net, nodejs, oneshot, progress,
                       relay as relays, runner, server, shares, site, soak, system)
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import INITRAMFS, KERNEL_WASM, SITE

stderr = progress.stderr


def build_kernel() -> Path:
    """Build the kernel if needed, showing progress on the terminal."""
    with progress.stage("building the kernel") as report:
        return kernel.build(report)


def build_libc() -> Path:
    """Build musl and the compiler wrapper if needed, showing progress."""
    with progress.stage("building musl") as report:
        return musl.build(report)


def build_system() -> Path:
    """Build BusyBox and the system image if needed, showing progress."""
    with progress.stage("building the system image") as report:
        return system.build(report=report)


def build_node() -> Path:
    """Fetch the pinned Node.js that runs machines, if needed."""
    with progress.stage("fetching Node.js") as report:
        return nodejs.build(report)


def cmd_build(args: argparse.Namespace) -> int:
    for path in (build_node(), build_kernel(), build_libc(), build_system()):
        stderr.print(f"built {path}")
    return 0


def network_cards(args: argparse.Namespace) -> tuple[net.Card, ...]:
    """--net, and what --publish and --host-loopback add to it (each implies --net)."""
    published = tuple(net.parse_publish(spec) for spec in args.publish)
    if not (args.net or published or args.host_loopback):
        return ()
    return (net.Nat(publish=published, host_loopback=args.host_loopback),)


def cmd_run(args: argparse.Namespace) -> int:
    copy_in = [copies.parse_copy_in(spec) for spec in args.copy_in]
    copy_out = [copies.parse_copy_out(spec) for spec in args.copy_out]
    if args.command is None and copy_out:
        raise LinuxWasmError("--copy-out needs a command (-c)")
    runner.check_memory(args.memory)
    if args.timeout < 0:
        raise LinuxWasmError(f"--timeout {args.timeout:g}: must not be negative")
    kernel_image = args.kernel or build_kernel()
    initramfs = args.initramfs or build_system()
    attached = tuple(disks.parse_disk(spec) for spec in args.disk)
    folders = tuple(shares.parse_share(spec) for spec in args.share)
    cards = network_cards(args)
    if copy_in and disks.root(attached):
        raise LinuxWasmError("--copy-in puts files in the initramfs, which a root disk replaces")
    runner.check_inputs(runner.RunOptions(kernel=kernel_image, initramfs=initramfs, memory_mib=args.memory,
                                          disks=attached, shares=folders, networks=cards))
    command = args.command
    if command is None and oneshot.host_input() is not None:
        # Commands from a pipe or a file, as `sh < script` reads them.
        command = "exec /bin/sh"
    if command is not None:
        return oneshot.run(command, kernel_image, initramfs, copy_in, copy_out,
                           args.memory, args.timeout, args.verbose, args.cmdline, attached, folders, cards)
    # The guest's terminal is this one: tell its programs what it is. The
    # kernel log stays out of the way unless asked for.
    cmdline = " ".join(word for word in ("console=hvc0", "" if args.verbose else "quiet",
                                         f"TERM={os.environ.get('TERM', 'linux')}", args.cmdline) if word)
    with tempfile.TemporaryDirectory(prefix="linuxwasm-") as scratch:
        image = copies.initramfs_with(initramfs, copy_in, Path(scratch), frozenset(system.DIRECTORIES))
        return runner.run(runner.RunOptions(kernel=kernel_image, initramfs=image, cmdline=cmdline,
                                            memory_mib=args.memory, timeout=args.timeout, disks=attached,
                                            shares=folders, networks=cards))


def cmd_mkdisk(args: argparse.Namespace) -> int:
    size = disks.parse_size(args.size)
    if not args.system:
        disks.mkdisk(args.image, size, args.source, keep_owners=args.keep_owners)
    else:
        if args.source is not None and not args.source.is_dir():
            raise LinuxWasmError(f"{args.source}: not a folder")
        with tempfile.TemporaryDirectory(prefix="linuxwasm-root-") as scratch:
            system.image().extract(Path(scratch))
            if args.source is not None:
                shutil.copytree(args.source, scratch, symlinks=True, dirs_exist_ok=True)
            disks.mkdisk(args.image, size, Path(scratch), keep_owners=args.keep_owners)
    stderr.print(f"made {args.image}")
    return 0


def cmd_module_build(args: argparse.Namespace) -> int:
    with progress.stage(f"building the modules of {args.folder}") as report:
        built = modules.build(args.folder, report)
    for path in built:
        stderr.print(f"built {path}")
    return 0


def build_site(target: Path) -> Path:
    """Build everything the page needs and write the site into target."""
    kernel_image = build_kernel()
    build_libc()
    initramfs = build_system()
    with progress.stage("writing the site") as report:
        return site.export(target, kernel_image, initramfs, report)


def cmd_serve(args: argparse.Namespace) -> int:
    root = build_site(SITE)
    relay = relays.Relay(net.Nat(host_loopback=args.host_loopback)) if args.net or args.host_loopback else None
    httpd = server.open_server(root, args.host, args.port, args.verbose, relay)
    print(f"open {server.url_of(httpd)}  (Ctrl-C stops the server)", flush=True)
    with httpd:
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    target = build_site(args.folder)
    stderr.print(f"wrote {target}/: serve it from any static web host")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from rich.table import Table

    image = build_kernel()
    build_libc()
    site_root = None
    if (problem := browser.available()) is None:
        site_root = build_site(SITE)
    else:
        stderr.print(f"not measuring the page: {problem}")
    with stderr.status("benchmarking (a minute or two)"):
        results, boots = bench.run(image, site_root)
    table = Table(title="linuxwasm bench (guest against native, this machine, one run)")
    for column in ("benchmark", "guest", "native", "ratio", "target"):
        table.add_column(column)
    for r in results:
        table.add_row(r.name, f"{r.guest:.3g} {r.unit}",
                      f"{r.native:.3g} {r.unit}" if r.native else "-",
                      f"{r.ratio:.2f}x" if r.ratio else "-", r.target)
    Console().print(table)
    Console().print(f"boot runs: {', '.join(f'{t:.3f}' for t in boots)} s")
    return 0


def cmd_soak(args: argparse.Namespace) -> int:
    if args.boots < 0 or args.commands < 0:
        raise LinuxWasmError("--boots and --commands must not be negative")
    kernel_image = build_kernel()
    build_libc()
    image = build_system()
    with progress.stage("soaking") as report:
        result = soak.soak(kernel_image, image, args.boots, args.commands, tick=report)
    for line in result.lines():
        print(line)
    return 0 if result.ok else 1


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text}: not a TCP port (0 to 65535)")
    return port


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="linuxwasm", description="Linux compiled to WebAssembly.")
    top.add_argument("--version", action="version", version=f"%(prog)s {version('linuxwasm')}")
    commands = top.add_subparsers(dest="subcommand", required=True)

    build = commands.add_parser("build", help="build everything that changed",
                                description="Fetch the pinned sources (once) and build what changed: the "
                                "kernel, musl, BusyBox and the system image. From nothing this takes about 6 "
                                "minutes on 2 cores; with nothing changed, under a second.")
    build.set_defaults(func=cmd_build)

    run = commands.add_parser("run", help="boot the system: a shell in this terminal, or run one command",
                              description="Boot the system with a root shell on this terminal "
                              "(Ctrl-A x stops it), or with -c run one command and exit with its status.")
    run.add_argument("-c", dest="command", metavar="CMD",
                     help="run CMD with the guest's /bin/sh -c, print its output, exit with its status")
    run.add_argument("--copy-in", action="append", default=[], metavar="HOST:GUEST",
                     help="put a host file into the guest at boot (repeatable)")
    run.add_argument("--copy-out", action="append", default=[], metavar="GUEST:HOST",
                     help="after CMD, copy a guest file to the host (repeatable; needs -c)")
    run.add_argument("--disk", action="append", default=[], metavar="IMAGE[:FOLDER][:ro|:snapshot]",
                     help="attach an ext4 image as /dev/vda (then vdb, ...), mounted on FOLDER in the guest "
                     "(/ makes it the root file system); :ro read-only, :snapshot writes thrown away "
                     "at power-off (repeatable)")
    run.add_argument("--share", action="append", default=[], metavar="FOLDER:GUEST_FOLDER[:ro]",
                     help="share a host folder with the guest over 9p, mounted on GUEST_FOLDER; nothing "
                     "outside it is reachable; :ro read-only (repeatable)")
    run.add_argument("--net", action="store_true",
                     help="a network card (eth0) behind a NAT on this host (passt): the guest reaches what "
                     "this host reaches, but not its 127.0.0.1")
    run.add_argument("--publish", action="append", default=[], metavar="HOST_PORT:GUEST_PORT",
                     help="forward a port of this host's 127.0.0.1 to the guest's (repeatable; implies --net)")
    run.add_argument("--host-loopback", action="store_true",
                     help="let the guest reach this host's 127.0.0.1, at its gateway's address (implies --net)")
    run.add_argument("--verbose", action="store_true",
                     help="show the kernel log (on stderr with -c; on the terminal before the prompt)")
    run.add_argument("--kernel", type=Path, help=f"kernel image (default: build {KERNEL_WASM.name})")
    run.add_argument("--initramfs", type=Path,
                     help=f"initramfs, cpio, may be gzipped (default: build {INITRAMFS.name})")
    run.add_argument("--cmdline", default="", metavar="ARGS",
                     help="more kernel command line, after what the machine needs")
    run.add_argument("--memory", type=int, default=128, metavar="MIB",
                     help=f"memory size, {runner.MIN_MEMORY_MIB} to {runner.MAX_MEMORY_MIB} (default 128)")
    run.add_argument("--timeout", type=float, default=0, metavar="SECONDS",
                     help="stop after this long (exit status 124); with -c, CMD's time")
    run.set_defaults(func=cmd_run)

    mkdisk = commands.add_parser("mkdisk", help="make an ext4 disk image for --disk",
                                 description="Make an ext4 image of SIZE, without root (Debian's e2fsprogs), "
                                 "with the files of a host folder in it if --from is given; its files are "
                                 "root's in the guest unless --keep-owners.")
    mkdisk.add_argument("image", type=Path, help="the image to make (must not exist)")
    mkdisk.add_argument("--size", required=True, help="its size: 256M, 2G, ... (1M to 1T)")
    mkdisk.add_argument("--from", dest="source", type=Path, metavar="DIR", help="put this folder's files in it")
    mkdisk.add_argument("--system", action="store_true",
                        help="put the system's files in it (those of the initramfs), to boot with --disk IMAGE:/")
    mkdisk.add_argument("--keep-owners", action="store_true",
                        help="keep the files' owners as the host has them, not root")
    mkdisk.set_defaults(func=cmd_mkdisk)

    module = commands.add_parser("module", help="build kernel modules to load in the guest",
                                 description="Build out-of-tree kernel modules against the built kernel.")
    module_commands = module.add_subparsers(dest="module_command", required=True)
    module_build = module_commands.add_parser(
        "build", help="build the modules of a folder into .ko files",
        description="Build the modules a folder's Kbuild or Makefile names (obj-m += NAME.o, "
        "NAME-y += a.o b.o for several sources) with the kernel's own kbuild, into NAME.ko in that "
        "folder, ready for insmod in the guest (bring it in with run --copy-in NAME.ko:/root/NAME.ko).")
    module_build.add_argument("folder", type=Path, help="the module's folder")
    module_build.set_defaults(func=cmd_module_build)

    serve = commands.add_parser("serve", help="serve the system as a web page (Linux in a browser tab)",
                                description="Build the page and serve it over HTTP with the headers it "
                                "needs (cross-origin isolation, compression, caching).")
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (default 8000; 0: any free one)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, this machine only)")
    serve.add_argument("--net", action="store_true",
                       help="give each tab a network card: a WebSocket relay at /net to a NAT of its own (passt)")
    serve.add_argument("--host-loopback", action="store_true",
                       help="let the tabs' guests reach this host's 127.0.0.1, at their gateway's address "
                       "(implies --net)")
    serve.add_argument("--verbose", action="store_true", help="log each request on stderr")
    serve.set_defaults(func=cmd_serve)

    export = commands.add_parser("export", help="write the page as a folder for any static web host")
    export.add_argument("folder", type=Path, help="where to write it (new, empty, or an earlier export)")
    export.set_defaults(func=cmd_export)

    bench_cmd = commands.add_parser("bench", help="measure the system against native code",
                                    description="Boot times, the shell, system calls, process start, "
                                    "compute and host memory, each against the same work done natively "
                                    "on this machine, as ratios in one run; also the page in headless "
                                    "Chromium where it is installed. Takes two to three minutes.")
    bench_cmd.set_defaults(func=cmd_bench)

    soak_cmd = commands.add_parser("soak", help="boot and run commands many times, and try the hostile probes",
                                   description="Boot BOOTS times, run COMMANDS mixed commands in one "
                                   "machine with every output checked, run each hostile probe (forged "
                                   "frames, a fork bomb, a full /tmp, memory hogs, a stopped or killed "
                                   "agent, ...), and report the faults and the host's memory growth. "
                                   "Exit status 1 if anything failed.")
    soak_cmd.add_argument("--boots", type=int, default=1000, help="how many boots (default 1000)")
    soak_cmd.add_argument("--commands", type=int, default=10000,
                          help="how many commands in one machine (default 10000)")
    soak_cmd.set_defaults(func=cmd_soak)
    return top


def _terminated(signum: int, frame: object) -> None:
    # Unwinds like Ctrl-C, so that the machine this process started stops too.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args, unknown = top.parse_known_args(argv)
    if unknown:
        # The usage of the subcommand that was given, not the top level's.
        subcommands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
        subcommands.choices[args.subcommand].error(f"unrecognized arguments: {' '.join(unknown)}")
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminated)
    try:
        return args.func(args)
    except LinuxWasmError as e:
        print(f"linuxwasm: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug of ours: one line, the details on request
        if os.environ.get("LINUXWASM_DEBUG"):
            raise
        print(f"linuxwasm: internal error: {type(e).__name__}: {e} (LINUXWASM_DEBUG=1 shows where)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
