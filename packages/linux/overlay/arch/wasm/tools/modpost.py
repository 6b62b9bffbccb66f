#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""modpost for ARCH=wasm: write each module's .mod.c.

scripts/mod/modpost reads ELF objects; these are Wasm objects. What a
module needs from modpost here is its struct module (name, init, exit)
and its vermagic; its undefined symbols are checked by the loader when it
is loaded, against the __ksymtab of the kernel and of the modules loaded
(what a module exports is in its own, which the loader finds). So
Module.symvers stays empty: nothing needs it before load time.

Usage: modpost.py -o SYMVERS < list of module objects (one path.o per line)
"""

import sys
from pathlib import Path

MOD_C = """\
/* Written by arch/wasm/tools/modpost.py. */
#include <linux/module.h>
#define INCLUDE_VERMAGIC
#include <linux/vermagic.h>
#include <linux/compiler.h>

MODULE_INFO(vermagic, VERMAGIC_STRING);
MODULE_INFO(name, KBUILD_MODNAME);
MODULE_INFO(depends, "");

/* A module without module_init() or module_exit() leaves these NULL. */
extern int init_module(void) __weak;
extern void cleanup_module(void) __weak;

__used struct module __this_module __section(".gnu.linkonce.this_module") = {
	.name = KBUILD_MODNAME,
	.init = init_module,
#ifdef CONFIG_MODULE_UNLOAD
	.exit = cleanup_module,
#endif
	.arch = MODULE_ARCH_INIT,
};
"""


def write_if_changed(path: Path, text: str) -> None:
    """Leave an unchanged file alone, so that make rebuilds nothing."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != "-o":
        print("usage: modpost.py -o SYMVERS < module objects", file=sys.stderr)
        return 2
    for line in sys.stdin:
        obj = Path(line.strip())
        if obj.suffix == ".o":
            write_if_changed(obj.with_suffix(".mod.c"), MOD_C)
    write_if_changed(Path(argv[2]), "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
