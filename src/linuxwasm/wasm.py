"""Read the structure of a WebAssembly binary module.

A small, read-only parser for the parts of a module that the build and test
tooling inspects: function types, imports, exports, globals, memories, the
functions of element segments, data segments, the location of code bodies,
and the "name" custom section.  Instructions are not decoded here; code bodies
are only located (forkable.py reads the calls in them).

Only binary format version 1 is accepted, together with the extensions wasm-ld
emits for the kernel: shared memories (threads), passive data segments and the
data count section (bulk memory), extended constant expressions, and tags
(exception handling).  64-bit memories are rejected.

Byte payloads (data segment contents, custom sections) are memoryview slices
of the input, so parsing a large vmlinux.wasm does not copy it.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path

from linuxwasm.errors import LinuxWasmError

MAGIC = b"\0asm"
VERSION = 1

SECTION_NAMES = {
    0: "custom", 1: "type", 2: "import", 3: "function", 4: "table",
    5: "memory", 6: "global", 7: "export", 8: "start", 9: "element",
    10: "code", 11: "data", 12: "datacount", 13: "tag",
}

# External kinds, indexed by their encoding in import and export entries.
KINDS = ("func", "table", "memory", "global", "tag")

_VALUE_TYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128",
                0x70: "funcref", 0x6F: "externref"}

_END = 0x0B
# i32.add, i32.sub, i32.mul, i64.add, i64.sub, i64.mul: the extended-const
# arithmetic operators, which take no immediates.
_EXTENDED_CONST_OPS = frozenset({0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E})

# Name section subsections recorded by the reader.
_FUNCTION_NAMES, _GLOBAL_NAMES, _DATA_SEGMENT_NAMES = 1, 7, 9


class WasmFormatError(LinuxWasmError):
    """The bytes are not a well-formed module, or use an unsupported feature."""


@dataclass(frozen=True)
class Section:
    """One section, in file order.

    ``offset`` and ``size`` cover the payload (for custom sections including
    their name), not the id byte and size field in front of it; the
    section's bytes in the file are ``begin`` up to ``offset + size``.
    """

    id: int
    name: str  # e.g. "code"; a custom section's own name, e.g. "producers"
    offset: int
    size: int
    begin: int


@dataclass(frozen=True)
class Limits:
    """The limits of a memory, in 64 KiB pages."""

    min: int
    max: int | None
    shared: bool


@dataclass(frozen=True)
class FunctionType:
    """A function signature, by its value types."""

    params: tuple[str, ...]
    results: tuple[str, ...]


@dataclass(frozen=True)
class Import:
    """One import entry."""

    module: str
    name: str
    kind: str  # one of KINDS
    type_index: int | None = None  # func and tag imports
    memory: Limits | None = None  # memory imports


@dataclass(frozen=True)
class Export:
    """One export entry; ``index`` is in the index space of ``kind``."""

    name: str
    kind: str
    index: int


@dataclass(frozen=True)
class Global:
    """A global defined by the module (imported globals are in ``imports``)."""

    index: int  # in the global index space, which starts with imported globals
    type: str  # "i32", "i64", "f32", "f64", "funcref" or "externref"
    mutable: bool
    init: int | None  # the value if initialised by a lone i32.const/i64.const


@dataclass(frozen=True)
class DataSegment:
    """One entry of the data section."""

    index: int
    mode: str  # "active" or "passive"
    memory: int | None  # memory index, for active segments
    offset: int | None  # for active segments whose offset is a lone i32.const
    data: memoryview
    name: str | None = None  # from the name section
    at: int = 0  # where data starts in the file


@dataclass(frozen=True)
class FunctionBody:
    """Where a code section entry lies in the file (locals and instructions)."""

    offset: int
    size: int


@dataclass
class Module:
    """Everything the reader records about a module.

    Index spaces follow the specification: imported items come first.
    ``memories`` therefore holds imported then defined memories, while
    ``code[i]`` is the body of function ``imported_functions + i``.
    """

    sections: list[Section] = field(default_factory=list)
    types: list[FunctionType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    # The type index of every function, imported ones first.
    function_types: list[int] = field(default_factory=list)
    # Every function that an element segment names (what indirect calls may reach).
    element_functions: list[int] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    memories: list[Limits] = field(default_factory=list)
    data_segments: list[DataSegment] = field(default_factory=list)
    code: list[FunctionBody] = field(default_factory=list)
    function_count: int = 0  # imported plus defined
    tag_count: int = 0  # imported plus defined
    data_count: int | None = None  # from the data count section, if present
    start: int | None = None
    function_names: dict[int, str] = field(default_factory=dict)
    global_names: dict[int, str] = field(default_factory=dict)
    data_segment_names: dict[int, str] = field(default_factory=dict)
    # Custom section payloads after their name; a repeated name keeps the last.
    custom_sections: dict[str, memoryview] = field(default_factory=dict)

    @property
    def imported_functions(self) -> int:
        """The number of imported functions, i.e. the first defined index."""
        return sum(1 for imp in self.imports if imp.kind == "func")

    def export(self, name: str) -> Export:
        """Return the export called ``name``."""
        for export in self.exports:
            if export.name == name:
                return export
        raise LinuxWasmError(f"module has no export named '{name}'")

    def segment(self, name: str) -> DataSegment:
        """Return the first data segment called ``name`` in the name section."""
        for segment in self.data_segments:
            if segment.name == name:
                return segment
        hint = "" if self.data_segment_names else " (its name section lists no segments)"
        raise LinuxWasmError(f"module has no data segment named '{name}'{hint}")


class _Reader:
    """A cursor over ``data[pos:end]``; errors name the section being read."""

    def __init__(self, data: memoryview, pos: int, end: int, section: str) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.section = section

    def error(self, problem: str) -> WasmFormatError:
        return WasmFormatError(f"{problem} in section '{self.section}'")

    def bytes(self, count: int) -> memoryview:
        if count > self.end - self.pos:
            # Running off the end of the file is truncation; running off the
            # end of a section means its contents disagree with its size.
            truncated = self.end == len(self.data)
            raise self.error("truncated" if truncated else "contents overrun the declared size")
        self.pos += count
        return self.data[self.pos - count:self.pos]

    def byte(self) -> int:
        return self.bytes(1)[0]

    def sub(self, size: int) -> "_Reader":
        """Consume the next ``size`` bytes and return a reader over just them."""
        start = self.pos
        self.bytes(size)
        return _Reader(self.data, start, self.pos, self.section)

    def _leb128(self, bits: int, signed: bool) -> int:
        result = shift = 0
        for _ in range((bits + 6) // 7):
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        else:
            raise self.error(f"LEB128 integer longer than {(bits + 6) // 7} bytes")
        if signed and byte & 0x40:
            result -= 1 << shift
        low, high = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
        if not low <= result < high:
            raise self.error(f"LEB128 integer does not fit in {bits} bits")
        return result

    def u32(self) -> int:
        return self._leb128(32, signed=False)

    def s32(self) -> int:
        return self._leb128(32, signed=True)

    def s64(self) -> int:
        return self._leb128(64, signed=True)

    def name(self) -> str:
        raw = self.bytes(self.u32())
        try:
            return raw.tobytes().decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("invalid UTF-8 name") from None

    def expect_end(self) -> None:
        if self.pos != self.end:
            raise self.error(f"{self.end - self.pos} unexpected trailing bytes")


def _kind(r: _Reader) -> str:
    kind = r.byte()
    if kind >= len(KINDS):
        raise r.error(f"unknown external kind {kind}")
    return KINDS[kind]


def _value_type(r: _Reader) -> str:
    code = r.byte()
    if code not in _VALUE_TYPES:
        raise r.error(f"unsupported value type 0x{code:02x}")
    return _VALUE_TYPES[code]


def _mutable(r: _Reader) -> bool:
    flag = r.byte()
    if flag > 1:
        raise r.error(f"invalid mutability {flag}")
    return flag == 1


def _limits(r: _Reader) -> Limits:
    flags = r.byte()
    if flags & 0x04:
        raise r.error("unsupported 64-bit memory")
    if flags & ~0x03:
        raise r.error(f"invalid limits flags 0x{flags:02x}")
    minimum = r.u32()
    maximum = r.u32() if flags & 0x01 else None
    return Limits(minimum, maximum, shared=bool(flags & 0x02))


def _const_expr(r: _Reader) -> int | None:
    """Consume a constant expression through its ``end`` opcode.

    Return its value if it is a lone i32.const or i64.const, else None
    (global.get, extended-const arithmetic, float and reference constants).
    """
    value = None
    count = 0
    while (op := r.byte()) != _END:
        count += 1
        if op == 0x41:  # i32.const
            value = r.s32()
        elif op == 0x42:  # i64.const
            value = r.s64()
        elif op in (0x23, 0xD2):  # global.get, ref.func
            r.u32()
        elif op == 0xD0:  # ref.null
            r.byte()
        elif op in (0x43, 0x44):  # f32.const, f64.const
            r.bytes(4 if op == 0x43 else 8)
        elif op not in _EXTENDED_CONST_OPS:
            raise r.error(f"unsupported opcode 0x{op:02x} in constant expression")
    return value if count == 1 else None


def _skip(r: _Reader, m: Module) -> None:
    r.pos = r.end


def _parse_imports(r: _Reader, m: Module) -> None:
    for _ in range(r.u32()):
        module, name, kind = r.name(), r.name(), _kind(r)
        type_index = memory = None
        if kind == "func":
            type_index = r.u32()
            m.function_count += 1
            m.function_types.append(type_index)
        elif kind == "tag":
            r.byte()  # attribute: 0, an exception
            type_index = r.u32()
            m.tag_count += 1
        elif kind == "table":
            r.byte()  # reference type
            _limits(r)
        elif kind == "memory":
            memory = _limits(r)
            m.memories.append(memory)
        else:
            _value_type(r)
            _mutable(r)
        m.imports.append(Import(module, name, kind, type_index, memory))


def _parse_types(r: _Reader, m: Module) -> None:
    for _ in range(r.u32()):
        form = r.byte()
        if form != 0x60:
            raise r.error(f"unsupported type form 0x{form:02x} (not a function type)")
        params = tuple(_value_type(r) for _ in range(r.u32()))
        m.types.append(FunctionType(params, tuple(_value_type(r) for _ in range(r.u32()))))


def _parse_functions(r: _Reader, m: Module) -> None:
    count = r.u32()
    m.function_types.extend(r.u32() for _ in range(count))
    m.function_count += count


def _element_expression(r: _Reader) -> int | None:
    """The function of an element expression (ref.func F end), None for ref.null."""
    op = r.byte()
    if op == 0xD2:  # ref.func
        function = r.u32()
    elif op == 0xD0:  # ref.null
        r.byte()
        function = None
    else:
        raise r.error(f"unsupported opcode 0x{op:02x} in an element expression")
    if r.byte() != _END:
        raise r.error("element expression longer than one instruction")
    return function


def _parse_elements(r: _Reader, m: Module) -> None:
    for _ in range(r.u32()):
        flags = r.u32()
        if flags > 7:
            raise r.error(f"unknown element segment flags {flags}")
        if flags & 2 and not flags & 1:
            r.u32()  # table index
        if not flags & 1:
            _const_expr(r)  # offset
        if flags & 3:
            r.byte()  # element kind (0: funcref) or reference type
        for _ in range(r.u32()):
            function = _element_expression(r) if flags & 4 else r.u32()
            if function is not None:
                m.element_functions.append(function)


def _parse_memories(r: _Reader, m: Module) -> None:
    m.memories.extend(_limits(r) for _ in range(r.u32()))


def _parse_tags(r: _Reader, m: Module) -> None:
    count = r.u32()
    for _ in range(count):
        r.byte()  # attribute
        r.u32()  # type index
    m.tag_count += count


def _parse_globals(r: _Reader, m: Module) -> None:
    first = sum(1 for imp in m.imports if imp.kind == "global")
    for i in range(r.u32()):
        value_type, mutable = _value_type(r), _mutable(r)
        m.globals.append(Global(first + i, value_type, mutable, _const_expr(r)))


def _parse_exports(r: _Reader, m: Module) -> None:
    for _ in range(r.u32()):
        name, kind = r.name(), _kind(r)
        m.exports.append(Export(name, kind, r.u32()))


def _parse_start(r: _Reader, m: Module) -> None:
    m.start = r.u32()


def _parse_code(r: _Reader, m: Module) -> None:
    for _ in range(r.u32()):
        size = r.u32()
        m.code.append(FunctionBody(r.pos, size))
        r.bytes(size)


def _parse_data(r: _Reader, m: Module) -> None:
    for index in range(r.u32()):
        flags = r.u32()
        if flags == 1:
            size = r.u32()
            m.data_segments.append(DataSegment(index, "passive", None, None, r.bytes(size), at=r.pos - size))
            continue
        if flags not in (0, 2):
            raise r.error(f"unknown data segment flags {flags}")
        memory = r.u32() if flags == 2 else 0
        offset = _const_expr(r)
        size = r.u32()
        m.data_segments.append(DataSegment(index, "active", memory, offset, r.bytes(size), at=r.pos - size))


def _parse_data_count(r: _Reader, m: Module) -> None:
    m.data_count = r.u32()


def _parse_names(r: _Reader, m: Module) -> None:
    maps = {_FUNCTION_NAMES: m.function_names, _GLOBAL_NAMES: m.global_names,
            _DATA_SEGMENT_NAMES: m.data_segment_names}
    while r.pos < r.end:
        subsection_id = r.byte()
        sub = r.sub(r.u32())
        names = maps.get(subsection_id)
        if names is None:
            continue
        for _ in range(sub.u32()):
            index = sub.u32()
            names[index] = sub.name()
        sub.expect_end()


_SECTION_PARSERS = {
    1: _parse_types, 2: _parse_imports, 3: _parse_functions, 4: _skip,
    5: _parse_memories, 6: _parse_globals, 7: _parse_exports, 8: _parse_start,
    9: _parse_elements, 10: _parse_code, 11: _parse_data, 12: _parse_data_count,
    13: _parse_tags,
}


def parse_module(data: bytes) -> Module:
    """Parse a complete binary module; raise WasmFormatError if malformed."""
    view = memoryview(data)
    if view[:4] != MAGIC:
        raise WasmFormatError("not a WebAssembly module (bad magic)")
    if len(view) < 8:
        raise WasmFormatError("truncated in the module header")
    version = int.from_bytes(view[4:8], "little")
    if version != VERSION:
        raise WasmFormatError(f"unsupported WebAssembly version {version} (expected {VERSION})")

    m = Module()
    r = _Reader(view, 8, len(view), "header")
    while r.pos < r.end:
        begin = r.pos
        section_id = r.byte()
        if section_id not in SECTION_NAMES:
            raise WasmFormatError(f"unknown section id {section_id} at offset {r.pos - 1}")
        r.section = SECTION_NAMES[section_id]
        body = r.sub(r.u32())
        offset, size = body.pos, body.end - body.pos
        if section_id == 0:
            body.section = name = body.name()
            m.custom_sections[name] = view[body.pos:body.end]
            (_parse_names if name == "name" else _skip)(body, m)
        elif any(s.id == section_id for s in m.sections):
            raise WasmFormatError(f"duplicate section '{body.section}'")
        else:
            _SECTION_PARSERS[section_id](body, m)
        body.expect_end()
        m.sections.append(Section(section_id, body.section, offset, size, begin))

    defined = m.function_count - m.imported_functions
    if len(m.code) != defined:
        raise WasmFormatError(f"function section declares {defined} functions "
                              f"but code section has {len(m.code)} bodies")
    if m.data_count is not None and m.data_count != len(m.data_segments):
        raise WasmFormatError(f"data count section says {m.data_count} segments "
                              f"but data section has {len(m.data_segments)}")
    m.data_segments = [replace(s, name=m.data_segment_names.get(s.index)) for s in m.data_segments]
    return m


@dataclass(frozen=True)
class DylinkMemory:
    """What a side module's "dylink.0" section asks of its loader."""

    size: int  # bytes of its data region
    align: int  # the region's alignment, a power of two
    table_size: int  # function table slots
    table_align: int


_DYLINK_MEM_INFO = 1


def dylink_memory(module: Module) -> DylinkMemory:
    """The memory info of a side module (wasm-ld -shared); raise if it has none."""
    payload = module.custom_sections.get("dylink.0")
    if payload is None:
        raise WasmFormatError("not a side module (no dylink.0 section)")
    r = _Reader(payload, 0, len(payload), "dylink.0")
    while r.pos < r.end:
        kind = r.byte()
        body = r.sub(r.u32())
        if kind == _DYLINK_MEM_INFO:
            size, align, table_size, table_align = body.u32(), body.u32(), body.u32(), body.u32()
            if align > 16 or table_align > 16:
                raise body.error("an alignment above 2^16")
            return DylinkMemory(size, 1 << align, table_size, 1 << table_align)
    raise WasmFormatError("dylink.0: no memory info")


def read_module(path: Path) -> Module:
    """Read and parse the module at ``path``; errors name the file."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise LinuxWasmError(f"{path}: cannot read ({err.strerror or err})") from err
    try:
        return parse_module(data)
    except WasmFormatError as err:
        raise WasmFormatError(f"{path}: {err}") from err
