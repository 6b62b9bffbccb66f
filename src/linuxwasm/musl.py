"""Build musl for wasm32 into build/sysroot, and the compiler wrapper.

The sysroot is what guest programs compile and link against: headers,
crt1.o and libc.a. build/bin/wasm32-linux-musl-cc is clang-19 with the
sysroot and the user program ABI's link flags (runtime/user-abi.js).
"""

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from linuxwasm import artifacts, commands, kernel, recipes, sources, toolchain
from linuxwasm.paths import BUILD

SYSROOT = BUILD / "sysroot"
# Names the artifacts the sysroot was made from.
SYSROOT_STAMP = SYSROOT / ".artifacts"
CC_WRAPPER = BUILD / "bin" / "wasm32-linux-musl-cc"
TARGET = "wasm32-unknown-unknown"
# setjmp/longjmp are Wasm exceptions (src/setjmp/wasm32/wasm_sjlj.c).
CFLAGS = f"--target={TARGET} -O2 -matomics -mbulk-memory -mexception-handling -mllvm -wasm-enable-sjlj"

# What a compiler targeting Linux defines, which clang's wasm32 target
# does not: programs test these to pick their Linux code.
DEFINES = ("-D__linux__=1", "-D__linux=1", "-D__unix__=1", "-D__unix=1")

# The user program ABI: a shared memory imported from the host, the stack
# pointer and function table exported for clone children. Function
# "addresses" are table indices: they start at 3 so that no function is
# 0, 1 or 2, which are SIG_DFL, SIG_IGN and SIG_HOLD. Not higher: each
# instance (each exec, each clone child) allocates the whole table, and a
# base of 4096 cost 150 us per instance.
LINK_FLAGS = ("-Wl,--shared-memory", "-Wl,--import-memory", "-Wl,--max-memory=268435456",
              "-Wl,--export=__stack_pointer", "-Wl,--export-table", "-Wl,--table-base=3",
              "-Wl,-z,stack-size=131072")

_WRAPPER = """#!/bin/sh
# clang-19 for linuxwasm user programs, written by 'linuxwasm build':
# musl from {sysroot}, and when linking a program, the user program ABI's
# flags (not for a partial link, -r); a program that forks is then
# rewritten so that it can (linuxwasm.forkable).
link=yes
output=a.out
take_output=no
for arg do
  shift
  if [ $take_output = yes ]; then output=$arg; take_output=no; fi
  case "$arg" in
    # wasm-ld, like lld, finds archive members in any order, and has no
    # flag for the groups other linkers need.
    -Wl,--start-group|-Wl,--end-group) continue ;;
    -c|-E|-S|-M|-MM|-r|-Wl,-r|-Wl,--relocatable) link=no ;;
    -o) take_output=yes ;;
    -o*) output=${{arg#-o}} ;;
  esac
  set -- "$@" "$arg"
done
set -- {cflags} {defines} -nostdinc -isystem {sysroot}/include -isystem {resource}/include "$@"
if [ $link = yes ]; then
  {clang} "$@" -nostdlib -L{sysroot}/lib {ldflags} {sysroot}/lib/crt1.o {sysroot}/lib/libc.a {builtins} || exit
  exec {python} -m linuxwasm.forkable "$output"
fi
exec {clang} "$@"
"""


def _resource_dir() -> Path:
    out = subprocess.run([toolchain.require(toolchain.CLANG), "-print-resource-dir"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return Path(out)


def _install_wrapper() -> Path:
    resource = _resource_dir()
    text = _WRAPPER.format(
        sysroot=SYSROOT, cflags=CFLAGS, defines=" ".join(DEFINES), resource=resource, clang=toolchain.require(toolchain.CLANG),
        ldflags=" ".join(LINK_FLAGS),
        builtins=resource / "lib" / "wasi" / "libclang_rt.builtins-wasm32.a", python=sys.executable,
    )
    CC_WRAPPER.parent.mkdir(parents=True, exist_ok=True)
    if not CC_WRAPPER.exists() or CC_WRAPPER.read_text() != text:
        CC_WRAPPER.write_text(text)
        CC_WRAPPER.chmod(0o755)
    return CC_WRAPPER


def build(report: commands.Report = lambda line: None) -> Path:
    """Build musl if any input changed; return the compiler wrapper."""
    recipe = recipes.load("musl")
    name = f"musl-{artifacts.key(recipe, [Path(__file__)])}.tar"
    artifact = artifacts.path(name)
    if not artifact.exists():
        work = BUILD / "musl"
        tree, install, log = work / "src", work / "install", work / "build.log"
        work.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        report("preparing the musl source tree")
        sources.prepare_tree(recipe, tree)
        sources.sync_overlay(recipe.folder / "overlay", recipe.overlay, tree, recipe.shared)
        env = toolchain.build_env()
        configure = ["./configure", f"--target={TARGET}", "--prefix=/", "--disable-shared",
                     f"CC={toolchain.compiler()}", f"CFLAGS={CFLAGS}",
                     f"AR={toolchain.LLVM_AR}", f"RANLIB={toolchain.LLVM_RANLIB}"]
        stamp = tree / ".configured"
        if not stamp.exists() or stamp.read_text() != " ".join(configure):
            commands.run(configure, what="musl configure", log=log, report=report, cwd=tree, env=env)
            stamp.write_text(" ".join(configure))
        # musl's Makefile does not track header dependencies: build from
        # clean whenever an input changed (ccache keeps that cheap).
        commands.run(["make", "clean"], what="musl clean", log=log, report=report, cwd=tree, env=env)
        commands.run(["make", f"-j{os.cpu_count() or 1}"], what="musl build", log=log,
                     report=report, cwd=tree, env=env)
        shutil.rmtree(install, ignore_errors=True)
        commands.run(["make", "install", f"DESTDIR={install}"], what="musl install", log=log,
                     report=report, cwd=tree, env=env)
        with tarfile.open(work / name, "w") as tar:
            tar.add(install, arcname=".")
        artifacts.store(work / name, name)

    # The sysroot: musl, and the kernel's user API headers.
    kernel_headers = kernel.headers(report)
    wanted = f"{name}\n{kernel_headers.name}\n"
    if not SYSROOT_STAMP.exists() or SYSROOT_STAMP.read_text() != wanted:
        shutil.rmtree(SYSROOT, ignore_errors=True)
        for tarball in (artifact, kernel_headers):
            sources.unpack(tarball, SYSROOT)
        SYSROOT_STAMP.write_text(wanted)
    return _install_wrapper()
