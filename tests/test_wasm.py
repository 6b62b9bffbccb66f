"""Tests for linuxwasm.wasm against real wasm-ld output and hand-made bytes."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from linuxwasm.errors import LinuxWasmError
from linuxwasm.wasm import WasmFormatError, parse_module, read_module

CLANG, WASM_LD, OBJDUMP = "clang-19", "wasm-ld-19", "wasm-objdump"

SOURCE = r"""
typedef int (*initcall_t)(void);
static int init_a(void) { return 1; }
static int init_b(void) { return 2; }
__attribute__((used, section(".initcall1.init"))) initcall_t initcall_a = init_a;
__attribute__((used, section(".initcall1.init"))) initcall_t initcall_b = init_b;
__attribute__((used, section(".marker"))) char marker[0];
int counter = 5;
int run(int n) { return n + counter + initcall_a(); }
"""

PAGE = 65536
STACK_SIZE = 16 * 1024


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module linked the way the kernel is: shared, imported memory."""
    missing = [tool for tool in (CLANG, WASM_LD) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed; needed to build test modules")
    tmp = tmp_path_factory.mktemp("wasm")
    (tmp / "t.c").write_text(SOURCE)
    subprocess.run([CLANG, "--target=wasm32-unknown-unknown", "-O2", "-matomics",
                    "-mbulk-memory", "-ffreestanding", "-nostdlib", "-c",
                    str(tmp / "t.c"), "-o", str(tmp / "t.o")], check=True)
    subprocess.run([WASM_LD, "--no-entry", "--export=run", "--export=__stack_pointer",
                    "--shared-memory", "--import-memory", f"--initial-memory={2 * PAGE}",
                    f"--max-memory={16 * PAGE}", "-z", f"stack-size={STACK_SIZE}",
                    "--no-merge-data-segments", str(tmp / "t.o"), "-o", str(tmp / "t.wasm")],
                   check=True)
    return tmp / "t.wasm"


def objdump(path: Path, option: str) -> str:
    if shutil.which(OBJDUMP) is None:
        pytest.skip(f"{OBJDUMP} (wabt) not installed")
    return subprocess.run([OBJDUMP, option, str(path)], check=True,
                          capture_output=True, text=True).stdout


def test_segment_names_and_sizes(linked: Path) -> None:
    m = read_module(linked)
    assert [(s.name, len(s.data)) for s in m.data_segments] == [
        (".data.counter", 4), (".initcall1.init", 8), (".marker", 0)]
    # Shared memory makes every segment passive, copied in by the start function.
    assert all(s.mode == "passive" and s.offset is None for s in m.data_segments)
    assert m.data_count == 3
    assert m.function_names[m.start] == "__wasm_init_memory"
    assert bytes(m.segment(".data.counter").data) == (5).to_bytes(4, "little")
    assert m.segment(".initcall1.init").index == 1


def test_function_export(linked: Path) -> None:
    m = read_module(linked)
    run = m.export("run")
    assert run.kind == "func"
    assert m.function_names[run.index] == "run"
    assert m.imported_functions == 0
    assert len(m.code) == m.function_count == len(m.function_names)
    assert all(body.size > 0 for body in m.code)


def test_imported_shared_memory(linked: Path) -> None:
    m = read_module(linked)
    (memory,) = [imp for imp in m.imports if imp.kind == "memory"]
    assert (memory.module, memory.name) == ("env", "memory")
    assert (memory.memory.min, memory.memory.max, memory.memory.shared) == (2, 16, True)
    assert m.memories == [memory.memory]


def test_stack_pointer_global(linked: Path) -> None:
    m = read_module(linked)
    export = m.export("__stack_pointer")
    assert export.kind == "global"
    (sp,) = [g for g in m.globals if g.index == export.index]
    assert (sp.type, sp.mutable) == ("i32", True)
    assert sp.init is not None and sp.init >= STACK_SIZE and sp.init % 16 == 0
    assert m.global_names[sp.index] == "__stack_pointer"


def test_custom_sections(linked: Path) -> None:
    m = read_module(linked)
    assert {"name", "target_features"} <= set(m.custom_sections)
    assert b"atomics" in bytes(m.custom_sections["target_features"])


def test_agrees_with_objdump_segments(linked: Path) -> None:
    dump = objdump(linked, "-x")
    theirs = [(int(i), name, int(size)) for i, name, size in
              re.findall(r"- segment\[(\d+)\] <([^>]*)> .*size=(\d+)", dump)]
    ours = [(s.index, s.name, len(s.data)) for s in read_module(linked).data_segments]
    assert theirs and ours == theirs


def test_agrees_with_objdump_sections(linked: Path) -> None:
    dump = objdump(linked, "-h")
    theirs = [(int(start, 16), int(size, 16)) for start, size in
              re.findall(r"start=0x([0-9a-f]+) end=0x[0-9a-f]+ \(size=0x([0-9a-f]+)\)", dump)]
    ours = [(s.offset, s.size) for s in read_module(linked).sections]
    assert theirs and ours == theirs


def test_lookup_errors(linked: Path) -> None:
    m = read_module(linked)
    with pytest.raises(LinuxWasmError, match="no export named 'nope'"):
        m.export("nope")
    with pytest.raises(LinuxWasmError, match="no data segment named '.nope'"):
        m.segment(".nope")


def test_truncated_module(linked: Path, tmp_path: Path) -> None:
    data = linked.read_bytes()
    with pytest.raises(WasmFormatError, match=r"^truncated in section '\w+'$"):
        parse_module(data[:len(data) // 2])
    cut = tmp_path / "cut.wasm"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(WasmFormatError, match=rf"^{re.escape(str(cut))}: truncated in section"):
        read_module(cut)


# Hand-made modules ---------------------------------------------------------

HEADER = b"\0asm\x01\0\0\0"


def section(section_id: int, payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([section_id, len(payload)]) + payload


def global_i32(init: bytes) -> bytes:
    """A module with one immutable i32 global initialised by ``init``."""
    return HEADER + section(6, b"\x01\x7f\x00" + init + b"\x0b")


def test_bad_magic() -> None:
    with pytest.raises(WasmFormatError, match=r"not a WebAssembly module \(bad magic\)"):
        parse_module(b"\x7fELF\x02\x01\x01\0")


def test_bad_version() -> None:
    with pytest.raises(WasmFormatError, match=r"unsupported WebAssembly version 2 \(expected 1\)"):
        parse_module(b"\0asm\x02\0\0\0")


def test_short_header() -> None:
    with pytest.raises(WasmFormatError, match="truncated in the module header"):
        parse_module(b"\0asm\x01")


def test_empty_module() -> None:
    m = parse_module(HEADER)
    assert m.sections == [] and m.function_count == 0 and m.start is None


@pytest.mark.parametrize("encoded, value", [
    (b"\x00", 0),
    (b"\x7f", 127),
    (b"\x80\x01", 128),
    (b"\xe5\x8e\x26", 624485),
    (b"\x80\x80\x80\x80\x00", 0),  # padded but within 5 bytes
    (b"\xff\xff\xff\xff\x0f", 0xFFFF_FFFF),
])
def test_unsigned_leb128(encoded: bytes, value: int) -> None:
    assert parse_module(HEADER + section(8, encoded)).start == value


@pytest.mark.parametrize("encoded, problem", [
    (b"\x80\x80\x80\x80\x80\x00", "longer than 5 bytes"),
    (b"\xff\xff\xff\xff\x1f", "does not fit in 32 bits"),
    (b"\x80\x80", "contents overrun the declared size"),
])
def test_unsigned_leb128_errors(encoded: bytes, problem: str) -> None:
    module = HEADER + section(8, encoded) + section(0, b"\x01x")
    with pytest.raises(WasmFormatError, match=f"{problem} in section 'start'"):
        parse_module(module)


def test_leb128_truncated_at_end_of_file() -> None:
    with pytest.raises(WasmFormatError, match="^truncated in section 'start'$"):
        parse_module(HEADER + b"\x08\x85")


@pytest.mark.parametrize("encoded, value", [
    (b"\x7f", -1),
    (b"\x3f", 63),
    (b"\xc0\x00", 64),
    (b"\x80\x7f", -128),
    (b"\x80\x80\x80\x80\x78", -2**31),
    (b"\xff\xff\xff\xff\x07", 2**31 - 1),
])
def test_signed_leb128(encoded: bytes, value: int) -> None:
    (g,) = parse_module(global_i32(b"\x41" + encoded)).globals
    assert (g.index, g.type, g.mutable, g.init) == (0, "i32", False, value)


def test_signed_leb128_out_of_range() -> None:
    with pytest.raises(WasmFormatError, match="does not fit in 32 bits in section 'global'"):
        parse_module(global_i32(b"\x41\x80\x80\x80\x80\x08"))


def test_i64_global() -> None:
    module = HEADER + section(6, b"\x01\x7e\x01\x42" + b"\x80" * 9 + b"\x7f\x0b")
    (g,) = parse_module(module).globals
    assert (g.type, g.mutable, g.init) == ("i64", True, -2**63)


def test_extended_const_has_no_single_value() -> None:
    # i32.const 1; i32.const 2; i32.add; end
    (g,) = parse_module(global_i32(b"\x41\x01\x41\x02\x6a")).globals
    assert g.init is None


def test_data_segment_encodings() -> None:
    data = section(11, b"\x03"
                   b"\x00\x41\x10\x0b\x02ab"        # active, memory 0, offset 16
                   b"\x01\x03xyz"                   # passive
                   b"\x02\x01\x41\x20\x0b\x01q")    # active, memory 1, offset 32
    m = parse_module(HEADER + section(5, b"\x02\x00\x01\x01\x02\x03") + section(12, b"\x03") + data)
    assert [(s.mode, s.memory, s.offset, bytes(s.data)) for s in m.data_segments] == [
        ("active", 0, 16, b"ab"), ("passive", None, None, b"xyz"), ("active", 1, 32, b"q")]
    assert [(mem.min, mem.max, mem.shared) for mem in m.memories] == [(1, None, False), (2, 3, False)]
    assert m.data_count == 3


def test_tag_section() -> None:
    m = parse_module(HEADER + section(13, b"\x02\x00\x00\x00\x01"))
    assert m.tag_count == 2 and m.sections[0].name == "tag"


@pytest.mark.parametrize("module, message", [
    (section(5, b"\x01\x04\x01"), "unsupported 64-bit memory in section 'memory'"),
    (section(11, b"\x01\x03\x00"), "unknown data segment flags 3 in section 'data'"),
    (section(12, b"\x02") + section(11, b"\x00"), "data count section says 2 segments"),
    (section(3, b"\x01\x00"), "declares 1 functions but code section has 0"),
    (section(8, b"\x00") + section(8, b"\x00"), "duplicate section 'start'"),
    (section(8, b"\x00\x00"), "1 unexpected trailing bytes in section 'start'"),
    (section(14, b""), "unknown section id 14"),
])
def test_malformed(module: bytes, message: str) -> None:
    with pytest.raises(WasmFormatError, match=re.escape(message)):
        parse_module(HEADER + module)


def test_read_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "build" / "vmlinux.wasm"
    with pytest.raises(LinuxWasmError, match=rf"^{re.escape(str(missing))}: cannot read"):
        read_module(missing)


def test_read_not_wasm(tmp_path: Path) -> None:
    path = tmp_path / "vmlinux.wasm"
    path.write_bytes(b"#!/bin/sh\n")
    with pytest.raises(LinuxWasmError, match=rf"^{re.escape(str(path))}: not a WebAssembly"):
        read_module(path)
