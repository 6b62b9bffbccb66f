"""The linuxwasm command: build, run."""

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from linuxwasm import bench, kernel, musl, runner, system
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import INITRAMFS, KERNEL_WASM

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


def cmd_build(args: argparse.Namespace) -> int:
    for path in (build_kernel(), build_libc(), build_system()):
        stderr.print(f"built {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    options = runner.RunOptions(
        kernel=args.kernel or build_kernel(),
        initramfs=args.initramfs or build_system(),
        cmdline=args.cmdline,
        memory_mib=args.memory,
        timeout=args.timeout,
    )
    return runner.run(options)


def cmd_bench(args: argparse.Namespace) -> int:
    from rich.table import Table

    image = build_kernel()
    build_libc()
    with stderr.status("benchmarking (a minute or two)"):
        results, boots = bench.run(image)
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

    run = commands.add_parser("run", help="boot the system in this terminal")
    run.add_argument("--kernel", type=Path, help=f"kernel image (default: build {KERNEL_WASM.name})")
    run.add_argument("--initramfs", type=Path,
                     help=f"initramfs, cpio, may be gzipped (default: build {INITRAMFS.name})")
    run.add_argument("--cmdline", default="console=hvc0", help="kernel command line")
    run.add_argument("--memory", type=int, default=128, metavar="MIB", help="memory size (default 128)")
    run.add_argument("--timeout", type=float, default=0, metavar="SECONDS",
                     help="stop the machine after this long (exit status 124)")
    run.set_defaults(func=cmd_run)

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
