"""Tests for linuxwasm.postlink against real wasm-ld link maps and modules.

head.c is generated from postlink.TABLES (a zero-size marker in every
section of every table, plus an end marker after each table), the way
arch/wasm/kernel/head.c does it; entries.c puts a few entries into the
tables. Linked with head.o first, the tables are laid out in order and
contiguous; linked with head.o last, they are not.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from linuxwasm.errors import LinuxWasmError
from linuxwasm.postlink import TABLES, LinkMap, Segment, check_tables, read_map, sort_symbol_tables
from linuxwasm.wasm import DataSegment, Module, read_module

CLANG, WASM_LD = "clang-19", "wasm-ld-19"
CFLAGS = ["--target=wasm32-unknown-unknown", "-O2", "-matomics", "-mbulk-memory",
          "-ffreestanding", "-nostdlib", "-c"]
LDFLAGS = ["--no-entry", "--shared-memory", "--import-memory", "--max-memory=67108864"]
REAL_HEAD = (Path(__file__).resolve().parents[1]
             / "packages/linux/overlay/arch/wasm/kernel/head.c")

INITCALLS = 5  # entries.c: 1 early, 1 at level 1, 2 at level 6, 1 at level 7s
ENTRIES = r"""
typedef int (*initcall_t)(void);
static int f(void) { return 1; }
static int g(void) { return 2; }
#define ENTRY(var, fn, sec) \
	__attribute__((used, section(sec))) static initcall_t var = fn
ENTRY(early, f, ".initcallearly.init");
ENTRY(core, g, ".initcall1.init");
ENTRY(dev1, f, ".initcall6.init");
ENTRY(dev2, g, ".initcall6.init");
ENTRY(late_sync, f, ".initcall7s.init");
ENTRY(con, g, ".con_initcall.init");

struct obs_kernel_param { const char *str; int (*setup_func)(char *); int early; };
static int setup_quiet(char *s) { return 1; }
__attribute__((used, section(".init.setup"), aligned(4)))
static const struct obs_kernel_param setup_q = { "quiet", setup_quiet, 0 };

/* Four-byte stand-ins for struct sched_class. */
struct sched_class { int id; };
#define CLASS(var, sec, n) \
	__attribute__((used, section(sec), aligned(4))) static const struct sched_class var = { n }
CLASS(stop_class, "__stop_sched_class", 1);
CLASS(dl_class, "__dl_sched_class", 2);
CLASS(rt_class, "__rt_sched_class", 3);
CLASS(fair_class, "__fair_sched_class", 4);
CLASS(idle_class, "__idle_sched_class", 5);

int counter = 7;
int run(void) { return counter; }
"""


def end_section(end_marker: str) -> str:
    return f".tableend{end_marker}"


def generate_head() -> str:
    """head.c: a zero-size marker in each section of each table, then an end marker."""
    lines = ["#define MARKER(symbol, name) \\",
             "\t__attribute__((used, section(name), aligned(4))) char symbol[0]"]
    for table, (sections, end_marker) in TABLES.items():
        lines.append(f"/* {table} */")
        for index, (section, marker) in enumerate(sections):
            symbol = marker or f"__marker_{table.replace(' ', '_')}_{index}"
            lines.append(f'MARKER({symbol}, "{section}");')
        lines.append(f'MARKER({end_marker}, "{end_section(end_marker)}");')
    return "\n".join(lines) + "\n"


def run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        pytest.fail(f"{' '.join(cmd)} failed:\n{result.stderr}")


def compile_c(source: Path, out: Path, *extra: str) -> Path:
    run([CLANG, *CFLAGS, *extra, str(source), "-o", str(out)])
    return out


def link(folder: Path, name: str, objects: list[Path]) -> tuple[Path, Path]:
    wasm, map_file = folder / f"{name}.wasm", folder / f"{name}.map"
    run([WASM_LD, *LDFLAGS, f"-Map={map_file}", *map(str, objects), "-o", str(wasm)])
    return map_file, wasm


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    missing = [tool for tool in (CLANG, WASM_LD) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed; needed to link test modules")
    tmp = tmp_path_factory.mktemp("postlink")
    (tmp / "head.c").write_text(generate_head())
    (tmp / "entries.c").write_text(ENTRIES)
    (tmp / "con_only.c").write_text(
        "static int h(void) { return 3; }\n"
        '__attribute__((used, section(".con_initcall.init"))) static int (*c)(void) = h;\n')
    return {
        "tmp": tmp,
        "head": compile_c(tmp / "head.c", tmp / "head.o"),
        "entries": compile_c(tmp / "entries.c", tmp / "entries.o"),
        "con_only": compile_c(tmp / "con_only.c", tmp / "con_only.o"),
    }


@pytest.fixture(scope="module")
def good(objects: dict[str, Path]) -> tuple[Path, Path]:
    """Map and module linked the kernel's way: head.o first."""
    return link(objects["tmp"], "good", [objects["head"], objects["entries"]])


def test_check_tables_head_first(good: tuple[Path, Path]) -> None:
    map_file, wasm = good
    sizes = check_tables(read_map(map_file), read_module(wasm))
    assert sizes == {
        "initcalls": 4 * INITCALLS,
        "console initcalls": 4,
        "setup parameters": 12,
        "scheduler classes": 4 * 5,
    }
    assert set(sizes) == set(TABLES)


def test_check_tables_head_only(objects: dict[str, Path]) -> None:
    """With no entries at all every table is present but empty."""
    map_file, wasm = link(objects["tmp"], "empty", [objects["head"]])
    assert check_tables(read_map(map_file), read_module(wasm)) == dict.fromkeys(TABLES, 0)


def test_check_tables_head_last(objects: dict[str, Path]) -> None:
    map_file, wasm = link(objects["tmp"], "head_last", [objects["entries"], objects["head"]])
    with pytest.raises(LinuxWasmError) as err:
        check_tables(read_map(map_file), read_module(wasm))
    message = str(err.value)
    # entries.o's early initcall comes first, in front of __initcall_start.
    assert message == ("table initcalls: marker __initcall_start is not at the start "
                       "of .initcallearly.init")


def test_check_tables_head_last_order(objects: dict[str, Path]) -> None:
    """A level-6 initcall linked before head.o puts .initcall6.init out of order."""
    tmp = objects["tmp"]
    (tmp / "late.c").write_text(
        "static int h(void) { return 3; }\n"
        '__attribute__((used, section(".initcall6.init"))) static int (*c)(void) = h;\n')
    late = compile_c(tmp / "late.c", tmp / "late.o")
    map_file, wasm = link(tmp, "late_first", [late, objects["head"]])
    with pytest.raises(LinuxWasmError) as err:
        check_tables(read_map(map_file), read_module(wasm))
    message = str(err.value)
    assert message.startswith("table initcalls: section .initcall6.init at 0x")
    assert message.endswith("(is arch/wasm/kernel/head.o still the first object?)")


def test_check_tables_marker_not_at_start(objects: dict[str, Path]) -> None:
    """An entry linked before head.o lands in front of the table's start marker."""
    map_file, wasm = link(objects["tmp"], "con_first", [objects["con_only"], objects["head"]])
    with pytest.raises(LinuxWasmError,
                       match="table console initcalls: marker __con_initcall_start is not at "
                             "the start of .con_initcall.init"):
        check_tables(read_map(map_file), read_module(wasm))


def test_check_tables_real_head_c(objects: dict[str, Path]) -> None:
    """The kernel's own head.c marks every table the way TABLES expects."""
    if not REAL_HEAD.is_file():
        pytest.skip(f"{REAL_HEAD} not found")
    tmp = objects["tmp"]
    head = compile_c(REAL_HEAD, tmp / "real_head.o",
                     "-D__used=__attribute__((used))",
                     "-D__section(s)=__attribute__((section(s)))",
                     "-D__aligned(x)=__attribute__((aligned(x)))")
    map_file, wasm = link(tmp, "real", [head, objects["entries"]])
    sizes = check_tables(read_map(map_file), read_module(wasm))
    assert sizes["initcalls"] == 4 * INITCALLS
    assert sizes["scheduler classes"] == 4 * 5


def test_read_map(good: tuple[Path, Path]) -> None:
    map_file, wasm = good
    link_map = read_map(map_file)
    # Every data segment of the module is a segment of the map, and vice versa.
    module = read_module(wasm)
    assert set(link_map.segments) == {s.name for s in module.data_segments}
    for sections, end_marker in TABLES.values():
        for section, _ in sections:
            assert section in link_map.segments, section
        assert end_section(end_marker) in link_map.segments
    for name, segment in link_map.segments.items():
        assert isinstance(segment, Segment) and segment.name == name
        assert isinstance(segment.address, int) and isinstance(segment.size, int)
    # Data symbols, including the markers and the entries, with int addresses.
    symbols = link_map.symbols
    assert all(isinstance(address, int) for address in symbols.values())
    initcall6 = link_map.segments[".initcall6.init"]
    assert initcall6.size == 8
    assert symbols["__initcall6_start"] == initcall6.address
    assert {symbols["dev1"], symbols["dev2"]} == {initcall6.address, initcall6.address + 4}
    assert symbols["setup_q"] == link_map.segments[".init.setup"].address
    assert min(s.address for s in link_map.segments.values()) >= 1024  # wasm-ld's global base
    assert symbols["__initcall_end"] == link_map.segments[end_section("__initcall_end")].address
    # Code and globals are not data: the CODE section's symbols are not taken.
    assert "f" in map_file.read_text() and "f" not in symbols
    assert "__stack_pointer" not in symbols
    # Addresses agree with the active/passive layout the module records.
    assert link_map.segments[".initcall1.init"].size == 4
    assert symbols["__initcall1_start"] == symbols["core"]


def test_read_map_hand_written(tmp_path: Path) -> None:
    text = """\
    Addr      Off     Size Out     In      Symbol
       -        8        a TYPE
       -       51      21a CODE
       -       52      20c         <internal>:(__wasm_init_memory)
       -      25e        5         entries.o:(f)
       -      25e        5                 f
       -      26b       63 DATA
     400      26c        2 .rodata..L.str
     400      26e        2         <internal>:(.rodata..L.str)
     404      270        8 .initcall6.init
     404      272        0         head.o:(.initcall6.init)
     404      272        0                 __initcall6_start
     404      272        8         entries.o:(.initcall6.init)
     404      272        4                 e1
     408      276        4                 e2
     40c      27a        0 .initcall_end.init
     40c      27c        0         head.o:(.initcall_end.init)
     40c      27c        0                 __initcall_end
       -      2ce      2b0 CUSTOM(name)
"""
    (tmp_path / "out.map").write_text(text)
    link_map = read_map(tmp_path / "out.map")
    assert link_map.segments == {
        ".rodata..L.str": Segment(".rodata..L.str", 0x400, 2),
        ".initcall6.init": Segment(".initcall6.init", 0x404, 8),
        ".initcall_end.init": Segment(".initcall_end.init", 0x40C, 0),
    }
    assert link_map.symbols == {"__initcall6_start": 0x404, "e1": 0x404, "e2": 0x408,
                                "__initcall_end": 0x40C}


def test_read_map_without_data(tmp_path: Path) -> None:
    (tmp_path / "out.map").write_text(
        "    Addr      Off     Size Out     In      Symbol\n"
        "       -        8        a TYPE\n"
        "       -       51      21a CODE\n")
    with pytest.raises(LinuxWasmError, match="no data segments in the link map"):
        read_map(tmp_path / "out.map")


# --- check_tables on hand-made maps: the failures real links rarely give --------


def layout(sizes: dict[str, int], base: int = 0x400) -> tuple[LinkMap, Module]:
    """A map and module with every table's sections in order, markers in place."""
    segments, symbols, address = {}, {}, base
    for sections, end_marker in TABLES.values():
        for section, marker in sections:
            segments[section] = Segment(section, address, sizes.get(section, 0))
            if marker:
                symbols[marker] = address
            address += sizes.get(section, 0)
        symbols[end_marker] = address
    module = Module(data_segments=[DataSegment(i, "passive", None, None, memoryview(b""), name)
                                   for i, name in enumerate(segments)])
    return LinkMap(segments, symbols), module


def test_check_tables_synthetic_layout() -> None:
    link_map, module = layout({".initcall3.init": 8, ".initcall3s.init": 4, "__fair_sched_class": 4})
    assert check_tables(link_map, module) == {"initcalls": 12, "console initcalls": 0,
                                              "setup parameters": 0, "scheduler classes": 4}


def test_check_tables_missing_table() -> None:
    link_map, module = layout({})
    del link_map.segments[".init.setup"]
    with pytest.raises(LinuxWasmError, match="table setup parameters: none of its sections"):
        check_tables(link_map, module)


def test_check_tables_section_not_in_module() -> None:
    link_map, module = layout({})
    module.data_segments = [s for s in module.data_segments if s.name != "__rt_sched_class"]
    with pytest.raises(LinuxWasmError, match="section __rt_sched_class in the map but not in the module"):
        check_tables(link_map, module)


def test_check_tables_gap() -> None:
    link_map, module = layout({".initcall2.init": 4})
    moved = link_map.segments[".initcall2s.init"]
    link_map.segments[".initcall2s.init"] = Segment(moved.name, moved.address + 4, 0)
    with pytest.raises(LinuxWasmError, match=r"section \.initcall2s\.init at 0x[0-9a-f]+, expected"):
        check_tables(link_map, module)


def test_check_tables_end_marker_misplaced() -> None:
    link_map, module = layout({".init.setup": 12})
    link_map.symbols["__setup_end"] += 4
    with pytest.raises(LinuxWasmError, match="end marker __setup_end does not follow"):
        check_tables(link_map, module)
    del link_map.symbols["__setup_end"]
    with pytest.raises(LinuxWasmError, match="end marker __setup_end does not follow"):
        check_tables(link_map, module)


def test_check_tables_missing_marker() -> None:
    link_map, module = layout({})
    del link_map.symbols["__initcall5_start"]
    with pytest.raises(LinuxWasmError, match="marker __initcall5_start is not at the start"):
        check_tables(link_map, module)


# Exported symbols as include/linux/export.h writes them on wasm (kernel
# patch 0017): the names in __ksymtab_strings, the entries in __ksymtab,
# in link order, which is no order.
EXPORTS = r"""
struct kernel_symbol { unsigned long value; const char *name; const char *namespace; };
#define EXPORT(sym) \
    int sym(void) { return 0; } \
    static const char kstrtab_##sym[] __attribute__((section("__ksymtab_strings"), used)) = #sym; \
    static const struct kernel_symbol ksymtab_##sym __attribute__((section("__ksymtab"), used)) \
        = { (unsigned long)&sym, kstrtab_##sym, "" };
EXPORT(zed) EXPORT(abc) EXPORT(mid) EXPORT(ab)
"""


def _exported_names(map_file: Path, wasm: Path) -> list[bytes]:
    module = read_module(wasm)
    segments = {s.name: bytes(s.data) for s in module.data_segments}
    base = read_map(map_file).segments["__ksymtab_strings"].address
    strings, table = segments["__ksymtab_strings"], segments["__ksymtab"]
    names = []
    for at in range(0, len(table), 12):
        start = int.from_bytes(table[at + 4:at + 8], "little") - base
        names.append(strings[start:strings.index(b"\0", start)])
    return names


def test_exported_symbols_are_sorted_by_name(objects: dict[str, Path], tmp_path: Path) -> None:
    """The module loader bisects the tables, which wasm-ld leaves in link order."""
    source = tmp_path / "exports.c"
    source.write_text(EXPORTS)
    map_file, wasm = link(tmp_path, "exports", [compile_c(source, tmp_path / "exports.o")])
    assert _exported_names(map_file, wasm) == [b"zed", b"abc", b"mid", b"ab"]
    image = bytearray(wasm.read_bytes())
    assert sort_symbol_tables(read_map(map_file), read_module(wasm), image) == 4
    wasm.write_bytes(image)
    assert _exported_names(map_file, wasm) == [b"ab", b"abc", b"mid", b"zed"]


# A second object that exports "mid" again.
EXPORTS_MID_AGAIN = r"""
struct kernel_symbol { unsigned long value; const char *name; const char *namespace; };
static int other(void) { return 1; }
static const char name[] __attribute__((section("__ksymtab_strings"), used)) = "mid";
static const struct kernel_symbol entry __attribute__((section("__ksymtab"), used))
    = { (unsigned long)&other, name, "" };
"""


def test_a_symbol_exported_twice_fails_the_build(objects: dict[str, Path], tmp_path: Path) -> None:
    first, second = tmp_path / "one.c", tmp_path / "two.c"
    first.write_text(EXPORTS)
    second.write_text(EXPORTS_MID_AGAIN)
    map_file, wasm = link(tmp_path, "twice", [compile_c(first, tmp_path / "one.o"),
                                              compile_c(second, tmp_path / "two.o")])
    with pytest.raises(LinuxWasmError, match="exported twice: mid"):
        sort_symbol_tables(read_map(map_file), read_module(wasm), bytearray(wasm.read_bytes()))
