"""Kernel modules: build an out-of-tree module against the built kernel.

kbuild compiles the module's C as usual (``make M=folder modules``; the
arch adds -fPIC) and links it with wasm-ld as a Wasm side module. ``wrap``
then makes the ``.ko`` the kernel's generic loader takes: an ELF
relocatable file whose writable allocated sections are the side module's
data region, section for data segment, at the distances wasm-ld gave them
(their file offsets keep them, and arch/wasm/kernel/module.c checks that
the loader's layout does too); whose symbols are the side module's
imports from the kernel, undefined, in import order; and whose ``.wasm``
section is the side module itself, without its start function, as the
loader has laid out the data the start function would copy.
"""

import hashlib
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from linuxwasm import commands, kernel, postlink, wasm
from linuxwasm.errors import LinuxWasmError
from linuxwasm.postlink import LinkMap, read_map
from linuxwasm.wasm import Import, Module, WasmFormatError, dylink_memory, parse_module

EM_WASM = 0x4157  # arch/wasm/include/asm/elf.h

# What the host gives every module itself (runtime/modules.js), with the
# kernel's own "host" imports (asm/host.h, inlined by copy_from_user() and
# the like): the rest of its imports are the kernel's functions and data,
# resolved by the loader.
HOST_IMPORTS = frozenset({
    ("env", "memory"), ("env", "__indirect_function_table"), ("env", "__stack_pointer"),
    ("env", "__memory_base"), ("env", "__table_base"), ("env", "wasm_current_task"),
})
HOST_MODULE = "host"
# Sections the loader looks for by name and that keep their names (the
# module's struct module, its parameters, what it exports); every other
# data segment gets a ".wasm" prefix, so that none is taken for something
# it is not (".init.data" would be freed after init).
LOADER_SECTIONS = frozenset({".gnu.linkonce.this_module", "__param", "__ksymtab", "__ksymtab_gpl"})
# The module's own entry points, weak in its .mod.c (arch/wasm/tools/modpost.py).
ENTRY_POINTS = frozenset({"init_module", "cleanup_module"})

SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS = 1, 2, 3, 8
SHF_WRITE, SHF_ALLOC = 1, 2
STB_GLOBAL, STB_WEAK = 1, 2
STT_OBJECT, STT_FUNC = 1, 2
_EHDR = struct.Struct("<16sHHIIIIIHHHHHH")
_SHDR = struct.Struct("<IIIIIIIIII")
_SYM = struct.Struct("<IIIBBH")
_START = 8  # the start section's id


class ModuleError(LinuxWasmError):
    """A module could not be built or wrapped."""


@dataclass
class _Section:
    name: str
    type: int
    flags: int = 0
    data: bytes = b""
    size: int = 0  # for SHT_NOBITS; otherwise len(data)
    align: int = 1
    offset: int = 0  # in the file; region sections get theirs from the region
    link: int = 0
    info: int = 0
    entsize: int = 0


def kernel_imports(module: Module) -> list[Import]:
    """The imports the loader resolves: all but the host's own, in order."""
    return [imp for imp in module.imports
            if (imp.module, imp.name) not in HOST_IMPORTS and imp.module != HOST_MODULE]


def _symbol_type(imp: Import) -> int:
    if imp.module == "env" and imp.kind == "func":
        return STT_FUNC
    if imp.module == "GOT.func" and imp.kind == "global":
        return STT_FUNC
    if imp.module == "GOT.mem" and imp.kind == "global":
        return STT_OBJECT
    raise ModuleError(f"the module imports {imp.module}.{imp.name} ({imp.kind}), which the kernel does not provide")


def _code(side: bytes, module: Module) -> bytes:
    """The side module as the .wasm section holds it: without its start
    function, and with its copy of .modinfo zeroed (the segment is never
    copied; modinfo reads the whole file, and would list every key twice)."""
    image = bytearray(side)
    for segment in module.data_segments:
        if segment.name == ".modinfo":
            image[segment.at:segment.at + len(segment.data)] = bytes(len(segment.data))
    start = next((s for s in module.sections if s.id == _START), None)
    return bytes(image if start is None else image[:start.begin] + image[start.offset + start.size:])


def _region(module: Module, link: LinkMap, size: int) -> list[_Section]:
    """The data region as sections, each at its place (offset) in it."""
    contents = {s.name: s for s in module.data_segments}
    sections: list[_Section] = []
    at = 0
    for segment in sorted(link.segments.values(), key=lambda s: s.address):
        if segment.address < at:
            raise ModuleError(f"data segment {segment.name} overlaps the one before it")
        if segment.address > at:
            sections.append(_Section(".wasm.pad", SHT_NOBITS, size=segment.address - at, offset=at))
        name = segment.name if segment.name in LOADER_SECTIONS else ".wasm" + (
            segment.name if segment.name.startswith(".") else "." + segment.name)
        content = contents.get(segment.name)
        if segment.name == ".modinfo":
            # Its strings are the loader's (the .modinfo section, below), no
            # code reads them: the region keeps only the room, so that the
            # file holds them once (modinfo reads the whole file).
            sections.append(_Section(name, SHT_NOBITS, size=segment.size, offset=segment.address))
        elif content is None:
            if not segment.name.startswith(".bss"):
                raise ModuleError(f"data segment {segment.name} is in the link map but not in the module")
            sections.append(_Section(name, SHT_NOBITS, size=segment.size, offset=segment.address))
        elif len(content.data) != segment.size:
            raise ModuleError(f"data segment {segment.name}: {len(content.data)} bytes, the map says {segment.size}")
        else:
            sections.append(_Section(name, SHT_PROGBITS, data=bytes(content.data), offset=segment.address))
        at = segment.address + segment.size
    if at > size:
        raise ModuleError(f"the data segments end at {at}, past the region's {size} bytes")
    if at < size:
        sections.append(_Section(".wasm.pad", SHT_NOBITS, size=size - at, offset=at))
    for section in sections:
        section.flags = SHF_ALLOC | SHF_WRITE
    return sections


def wrap(side: bytes, link: LinkMap) -> bytes:
    """The .ko of a side module, given wasm-ld's map of it."""
    try:
        module = parse_module(side)
        memory = dylink_memory(module)
    except WasmFormatError as e:
        raise ModuleError(f"not a Wasm side module: {e}") from None
    if any(s.mode != "passive" for s in module.data_segments):
        raise ModuleError("the side module has active data segments (link it with --shared-memory)")
    if ".gnu.linkonce.this_module" not in link.segments:
        raise ModuleError("no struct module (.gnu.linkonce.this_module): was the .mod.c linked in?")

    region = _region(module, link, memory.size)
    region[0].align = memory.align
    modinfo = module.segment(".modinfo").data if ".modinfo" in link.segments else b""

    symbols = kernel_imports(module)
    strtab = bytearray(b"\0")
    symtab = bytearray(_SYM.size)
    for imp in symbols:
        bind = STB_WEAK if imp.name in ENTRY_POINTS else STB_GLOBAL
        symtab += _SYM.pack(len(strtab), 0, 0, bind << 4 | _symbol_type(imp), 0, 0)
        strtab += imp.name.encode() + b"\0"

    # The loader's .modinfo (its bytes in the region are .wasm.modinfo):
    # find_sec() looks at allocated sections only, and the loader clears
    # SHF_ALLOC before the layout.
    rest = [
        _Section(".modinfo", SHT_PROGBITS, SHF_ALLOC, bytes(modinfo)),
        _Section(".wasm", SHT_PROGBITS, data=_code(side, module)),
        _Section(".symtab", SHT_SYMTAB, data=bytes(symtab), align=4, info=1, entsize=_SYM.size),
        _Section(".strtab", SHT_STRTAB, data=bytes(strtab)),
    ]
    sections = [_Section("", 0), *region, *rest]
    rest[2].link = sections.index(rest[3])
    shstrtab = bytearray(b"\0")
    names = []
    for section in sections + [_Section(".shstrtab", SHT_STRTAB)]:
        names.append(len(shstrtab) if section.name else 0)
        if section.name:
            shstrtab += section.name.encode() + b"\0"
    sections.append(_Section(".shstrtab", SHT_STRTAB, data=bytes(shstrtab)))

    # The region first, at its own offsets from an aligned start; then the rest.
    base = -(-_EHDR.size // memory.align) * memory.align
    image = bytearray(base + memory.size)
    for section in region:
        section.offset += base
        if section.type == SHT_PROGBITS:
            image[section.offset:section.offset + len(section.data)] = section.data
    for section in sections[len(region) + 1:]:
        image += bytes(-len(image) % section.align)
        section.offset = len(image)
        image += section.data
    image += bytes(-len(image) % 4)
    headers = len(image)
    for section, name in zip(sections, names):
        size = section.size if section.type == SHT_NOBITS else len(section.data)
        image += _SHDR.pack(name, section.type, section.flags, 0, section.offset if section.name else 0,
                            size, section.link, section.info, section.align if section.name else 0,
                            section.entsize)
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)  # ELFCLASS32, ELFDATA2LSB, EV_CURRENT
    image[:_EHDR.size] = _EHDR.pack(ident, 1, EM_WASM, 1, 0, 0, headers, 0, _EHDR.size, 0, 0,
                                    _SHDR.size, len(sections), len(sections) - 1)
    return bytes(image)


def wrap_file(side: Path, link_map: Path, output: Path) -> None:
    """Write the .ko of the side module at side (kbuild's last step)."""
    try:
        data = side.read_bytes()
    except OSError as e:
        raise ModuleError(f"{side}: cannot read ({e.strerror})") from None
    output.write_bytes(wrap(data, read_map(link_map)))


def build(folder: Path, report: commands.Report = lambda line: None) -> list[Path]:
    """Build the modules of the folder (its Kbuild or Makefile); return the .ko files."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise ModuleError(f"{folder}: no such folder")
    if not (folder / "Kbuild").is_file() and not (folder / "Makefile").is_file():
        raise ModuleError(f"{folder}: no Kbuild or Makefile (one with obj-m += NAME.o)")
    kernel.build(report)
    tree, obj, log = kernel.module_tree(report)
    wrap_command = f"{sys.executable} -m linuxwasm.modules --wrapper={_wrapper_version()}"
    commands.run(kernel.make_command(tree, obj, "modules", f"M={folder}", f"WASM_KO={wrap_command}"),
                 what=f"module build in {folder}", log=log, report=report, env=kernel.build_env())
    order = folder / "modules.order"
    built = [folder / line.strip() for line in order.read_text().splitlines() if line.strip()] \
        if order.exists() else []
    built = [path.with_suffix(".ko") for path in built]
    missing = [path for path in built if not path.exists()]
    if not built or missing:
        raise ModuleError(f"{folder}: no module was built (does its Kbuild say obj-m += NAME.o?)")
    return built


def _wrapper_version() -> str:
    """A hash of the code that wraps: part of kbuild's command for each .ko,
    so that kbuild wraps again what an older wrapper made (it runs a
    command again when its text changes)."""
    digest = hashlib.sha256()
    for source in (__file__, wasm.__file__, postlink.__file__):
        digest.update(Path(source).read_bytes())
    return digest.hexdigest()[:16]


def main(argv: list[str]) -> int:
    """kbuild's final module link: python -m linuxwasm.modules [--wrapper=V] SIDE.wasm SIDE.map OUT.ko"""
    if argv and argv[0].startswith("--wrapper="):
        argv = argv[1:]  # only there to make kbuild's command change with the wrapper
    if len(argv) != 3:
        print("usage: python -m linuxwasm.modules [--wrapper=VERSION] SIDE.wasm SIDE.map OUT.ko", file=sys.stderr)
        return 2
    try:
        wrap_file(*(Path(arg) for arg in argv))
    except LinuxWasmError as e:
        print(f"{argv[2]}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
