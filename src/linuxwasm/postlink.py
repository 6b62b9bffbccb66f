"""What a linker script would guarantee, checked (and the symbol tables
sorted) after every kernel link.

Stock wasm-ld has no linker scripts. arch/wasm/kernel/head.c, the first
object of the link, puts a zero-size marker at the start of each section
that the kernel walks as one table (initcalls, console initcalls, setup
parameters, scheduler classes), so that wasm-ld lays the sections out in
the order the generic linker script would. This module reads the link map
and proves it: every table's sections are laid out in order, without gaps,
and each marker sits where its table starts. A violated rule fails the
build instead of booting a kernel that skips initcalls.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from linuxwasm.errors import LinuxWasmError
from linuxwasm.wasm import Module

# Each table: its sections in layout order; the marker symbol that must be
# at the start of a section, by section; the marker that ends it.
TABLES: dict[str, tuple[tuple[tuple[str, str | None], ...], str]] = {
    "initcalls": (
        (
            (".initcallearly.init", "__initcall_start"),
            *(
                pair
                for level in ("0", "1", "2", "3", "4", "5", "rootfs", "6", "7")
                for pair in (
                    (f".initcall{level}.init", f"__initcall{level}_start" if level != "rootfs" else None),
                    (f".initcall{level}s.init", None),
                )
            ),
        ),
        "__initcall_end",
    ),
    "console initcalls": (((".con_initcall.init", "__con_initcall_start"),), "__con_initcall_end"),
    "setup parameters": (((".init.setup", "__setup_start"),), "__setup_end"),
    "scheduler classes": (
        (
            ("__stop_sched_class", "__sched_class_highest"),
            ("__dl_sched_class", None),
            ("__rt_sched_class", None),
            ("__fair_sched_class", None),
            ("__idle_sched_class", None),
        ),
        "__sched_class_lowest",
    ),
}


@dataclass(frozen=True)
class Segment:
    name: str
    address: int
    size: int


@dataclass(frozen=True)
class LinkMap:
    segments: dict[str, Segment]
    symbols: dict[str, int]  # data symbol -> address


# A map line: address, file offset, size, then the name indented by its
# level: 1 space for an output section or segment, 9 for an input section,
# 17 for a symbol. Whole-file sections (DATA, CODE...) have address "-".
_LINE = re.compile(r"^\s*([0-9a-f]+|-)\s+[0-9a-f]+\s+([0-9a-f]+)( +)(\S.*)$")


def read_map(path: Path) -> LinkMap:
    """Data segments and data symbols of a wasm-ld -Map file."""
    segments: dict[str, Segment] = {}
    symbols: dict[str, int] = {}
    in_data = False
    for line in path.read_text().splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        address, size, indent, name = m.group(1), int(m.group(2), 16), len(m.group(3)), m.group(4)
        if address == "-":
            in_data = indent == 1 and name == "DATA"
        elif in_data and indent == 1:
            segments[name] = Segment(name, int(address, 16), size)
        elif in_data and indent == 17:
            symbols[name] = int(address, 16)
    if not segments:
        raise LinuxWasmError(f"{path}: no data segments in the link map")
    return LinkMap(segments, symbols)


def check_tables(link: LinkMap, module: Module) -> dict[str, int]:
    """Verify every table; return each table's size in bytes."""
    names = {s.name for s in module.data_segments}
    sizes = {}
    for table, (sections, end_marker) in TABLES.items():
        present = [(name, marker) for name, marker in sections if name in link.segments]
        if not present:
            raise LinuxWasmError(f"table {table}: none of its sections is in the image")
        expected = link.segments[present[0][0]].address
        start = expected
        for name, marker in present:
            if name not in names:
                raise LinuxWasmError(f"table {table}: section {name} in the map but not in the module")
            segment = link.segments[name]
            if segment.address != expected:
                raise LinuxWasmError(
                    f"table {table}: section {name} at {segment.address:#x}, expected {expected:#x} "
                    "(is arch/wasm/kernel/head.o still the first object?)"
                )
            if marker is not None and link.symbols.get(marker) != segment.address:
                raise LinuxWasmError(f"table {table}: marker {marker} is not at the start of {name}")
            expected = segment.address + segment.size
        if link.symbols.get(end_marker) != expected:
            raise LinuxWasmError(f"table {table}: end marker {end_marker} does not follow the table")
        sizes[table] = expected - start
    return sizes


# The exported-symbol tables (include/linux/export.h on wasm): entries of
# struct kernel_symbol {value, name, namespace}, three 32-bit words.
SYMBOL_TABLES = ("__ksymtab", "__ksymtab_gpl")
SYMBOL_STRINGS = "__ksymtab_strings"
_ENTRY = 12


def _c_string(segment: bytes, at: int) -> bytes:
    end = segment.find(b"\0", at) if 0 <= at < len(segment) else -1
    if end < 0:
        raise LinuxWasmError(f"{SYMBOL_STRINGS}: a symbol name outside it")
    return segment[at:end]


def sort_symbol_tables(link: LinkMap, module: Module, image: bytearray) -> int:
    """Sort each exported-symbol table of image by name, as the linker
    script's SORT() does elsewhere: the module loader bisects them. The
    tables are data segments of the linked kernel; the names are pointers
    into the strings segment. Return how many symbols the tables hold."""
    segments = {s.name: s for s in module.data_segments}
    if not any(name in segments for name in SYMBOL_TABLES):
        return 0
    strings = bytes(segments[SYMBOL_STRINGS].data)
    base = link.segments[SYMBOL_STRINGS].address
    count = 0
    for name in SYMBOL_TABLES:
        table = segments.get(name)
        if table is None:
            continue
        raw = bytes(table.data)
        if len(raw) % _ENTRY:
            raise LinuxWasmError(f"{name}: {len(raw)} bytes is no whole number of entries")
        named = sorted((_c_string(strings, int.from_bytes(raw[i + 4:i + 8], "little") - base), raw[i:i + _ENTRY])
                       for i in range(0, len(raw), _ENTRY))
        duplicates = {a for (a, _), (b, _) in zip(named, named[1:]) if a == b}
        if duplicates:
            raise LinuxWasmError(f"{name}: exported twice: {b', '.join(sorted(duplicates)).decode()}")
        image[table.at:table.at + len(raw)] = b"".join(entry for _, entry in named)
        count += len(named)
    return count
