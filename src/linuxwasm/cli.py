"""The linuxwasm command: build, run, serve, export, bench."""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from linuxwasm import bench, browser, copies, kernel, musl, nodejs, oneshot, runner, server, site, system
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import INITRAMFS, KERNEL_WASM, SITE

stderr = Console(stderr=True)


def build_kernel() -> Path:
    """Build the kernel if needed, showing progress on the terminal."""
    with stderr.status("building the kernel") as status:
        return kernel.build(lambda line: status.update(f"kernel: {escape(line)}"))


def build_libc() -> Path:
    """Build musl and the compiler wrapper if needed, showing progress."""
    with stderr.status("building musl") as status:
        return musl.build(lambda line: status.update(f"musl: {escape(line)}"))


def build_system() -> Path:
    """Build BusyBox and the system image if needed, showing progress."""
    with stderr.status("building the system image") as status:
        return system.build(report=lambda line: status.update(f"system: {escape(line)}"))


def build_node() -> Path:
    """Fetch the pinned Node.js that runs machines, if needed."""
    with stderr.status("fetching Node.js") as status:
        return nodejs.build(lambda line: status.update(f"node: {escape(line)}"))


def cmd_build(args: argparse.Namespace) -> int:
    for path in (build_node(), build_kernel(), build_libc(), build_system()):
        stderr.print(f"built {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    copy_in = [copies.parse_copy_in(spec) for spec in args.copy_in]
    copy_out = [copies.parse_copy_out(spec) for spec in args.copy_out]
    if args.command is None and copy_out:
        raise LinuxWasmError("--copy-out needs a command (-c)")
    kernel_image = args.kernel or build_kernel()
    initramfs = args.initramfs or build_system()
    if args.command is not None:
        return oneshot.run(args.command, kernel_image, initramfs, copy_in, copy_out,
                           args.memory, args.timeout, args.verbose)
    # The guest's terminal is this one: tell its programs what it is.
    cmdline = f"{args.cmdline} TERM={os.environ.get('TERM', 'linux')}"
    with tempfile.TemporaryDirectory(prefix="linuxwasm-") as scratch:
        image = copies.initramfs_with(initramfs, copy_in, Path(scratch), frozenset(system.DIRECTORIES))
        return runner.run(runner.RunOptions(kernel=kernel_image, initramfs=image, cmdline=cmdline,
                                            memory_mib=args.memory, timeout=args.timeout))


def build_site(target: Path) -> Path:
    """Build everything the page needs and write the site into target."""
    kernel_image = build_kernel()
    build_libc()
    initramfs = build_system()
    with stderr.status("writing the site") as status:
        return site.export(target, kernel_image, initramfs, lambda line: status.update(f"site: {escape(line)}"))


def cmd_serve(args: argparse.Namespace) -> int:
    root = build_site(SITE)
    httpd = server.open_server(root, args.host, args.port, args.verbose)
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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="linuxwasm", description="Linux compiled to WebAssembly.")
    commands = top.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build everything that changed")
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
    run.add_argument("--verbose", action="store_true", help="with -c: show the kernel log on stderr")
    run.add_argument("--kernel", type=Path, help=f"kernel image (default: build {KERNEL_WASM.name})")
    run.add_argument("--initramfs", type=Path,
                     help=f"initramfs, cpio, may be gzipped (default: build {INITRAMFS.name})")
    run.add_argument("--cmdline", default="console=hvc0", help="kernel command line")
    run.add_argument("--memory", type=int, default=128, metavar="MIB", help="memory size (default 128)")
    run.add_argument("--timeout", type=float, default=0, metavar="SECONDS",
                     help="stop after this long (exit status 124); with -c, CMD's time")
    run.set_defaults(func=cmd_run)

    serve = commands.add_parser("serve", help="serve the system as a web page (Linux in a browser tab)",
                                description="Build the page and serve it over HTTP with the headers it "
                                "needs (cross-origin isolation, compression, caching).")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0: any free one)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, this machine only)")
    serve.add_argument("--verbose", action="store_true", help="log each request on stderr")
    serve.set_defaults(func=cmd_serve)

    export = commands.add_parser("export", help="write the page as a folder for any static web host")
    export.add_argument("folder", type=Path, help="where to write it (new, empty, or an earlier export)")
    export.set_defaults(func=cmd_export)

    bench_cmd = commands.add_parser("bench", help="measure the system against native code")
    bench_cmd.set_defaults(func=cmd_bench)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except LinuxWasmError as e:
        print(f"linuxwasm: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
