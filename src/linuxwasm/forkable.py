"""Programs that fork, rewritten when they are linked so that fork() returns twice.

Wasm code cannot copy its call stack, so a program that forks is rewritten
with Binaryen's Asyncify: every function that can be on the stack when
the program calls its ``linux.fork`` import (musl's ``_Fork``) learns to
unwind (save its locals to a buffer and return) and to rewind (take them
back and call again where it was). The host then copies the process with
the stack unwound and rewinds it in both processes (runtime/fork.js).

Only those functions pay: the call graph, with each indirect call
resolved to every function of its type that the table holds, gives the
list that Asyncify instruments. Programs that never call fork are left
as they are. The compiler wrapper (musl.py) runs this after each link:

    python -m linuxwasm.forkable PROGRAM.wasm

Every mutable global (the stack pointer, the thread pointer) is exported
as ``fork.global.N`` for the host to copy into the child. The preemption
points (runtime/preempt.js) come later, as for any program, so Asyncify
never sees them: a loop without calls stays a loop without calls, and
costs nothing more. While a stack rewinds they may still make their
sched_yield() call, which changes nothing of the program's, and runs no
signal handler: musl's _Fork blocks every signal around the fork call.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from linuxwasm import binaryen, nodejs, wasm
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import CACHE as _CACHE_ROOT, PACKAGES

FORK_IMPORT = ("linux", "fork")
GLOBAL_EXPORT_PREFIX = "fork.global."
# What the rewrite depends on: for the caches of what the compiler wrapper links.
INPUTS = (Path(__file__), PACKAGES / "binaryen" / "recipe.toml")
# A custom section of the rewritten program says what the rewrite did (report()).
REPORT_SECTION = "linuxwasm.forkable"
# Rewritten programs, by the bytes they were made from; the most recent ones are kept.
CACHE = _CACHE_ROOT / "forkable"
CACHE_ENTRIES = 32

# The immediates of each instruction that carries some, by opcode (the
# Wasm 2.0 instructions, exception handling, tail calls, typed function
# references); "vec" is a br_table's labels and "types" a typed select's.
_U32, _S32, _S64, _BLOCK, _HEAP = "u32", "s32", "s64", "block", "heap"
_IMMEDIATES: dict[int, tuple[str, ...]] = {
    0x02: (_BLOCK,), 0x03: (_BLOCK,), 0x04: (_BLOCK,), 0x06: (_BLOCK,),
    0x07: (_U32,), 0x08: (_U32,), 0x09: (_U32,), 0x0C: (_U32,), 0x0D: (_U32,), 0x0E: ("vec",),
    0x10: (_U32,), 0x11: (_U32, _U32), 0x12: (_U32,), 0x13: (_U32, _U32), 0x14: (_U32,), 0x15: (_U32,),
    0x18: (_U32,), 0x1C: ("types",), 0x1F: ("try_table",),
    0x20: (_U32,), 0x21: (_U32,), 0x22: (_U32,), 0x23: (_U32,), 0x24: (_U32,), 0x25: (_U32,), 0x26: (_U32,),
    **{op: ("memarg",) for op in range(0x28, 0x3F)},
    0x3F: (_U32,), 0x40: (_U32,), 0x41: (_S32,), 0x42: (_S64,), 0x43: ("f32",), 0x44: ("f64",),
    0xD0: (_HEAP,), 0xD2: (_U32,), 0xD4: (_U32,), 0xD6: (_U32,),
}
_PLAIN = {0x00, 0x01, 0x05, 0x0A, 0x0B, 0x0F, 0x19, 0x1A, 0x1B, *range(0x45, 0xC5), 0xD1, 0xD3, 0xD5}
# 0xfc: saturating truncations (0-7), then bulk memory and tables.
_MISC = {8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1}
_CALLS = {0x10, 0x12}
_INDIRECT_CALLS = {0x11, 0x13, 0x14, 0x15}


class ForkableError(LinuxWasmError):
    """A program that forks could not be rewritten."""


def _simd(r: "wasm._Reader") -> None:
    op = r.u32()
    if op <= 11 or op in (92, 93):
        _memarg(r)
    elif op in (12, 13):
        r.bytes(16)
    elif 21 <= op <= 34:
        r.byte()
    elif 84 <= op <= 91:
        _memarg(r)
        r.byte()


def _memarg(r: "wasm._Reader") -> None:
    if r.u32() & 0x40:
        r.u32()  # a memory index
    r.u32()


def _block_type(r: "wasm._Reader") -> None:
    if r.data[r.pos] == 0x40 or r.data[r.pos] >= 0x6F:
        r.byte()
    else:
        r.s64()  # a type index, as an s33


def calls(code: memoryview, body: wasm.FunctionBody) -> tuple[set[int], set[int]]:
    """The functions one body calls, and the types it calls indirectly."""
    r = wasm._Reader(code, body.offset, body.offset + body.size, "code")
    for _ in range(r.u32()):
        r.u32()
        r.byte()
    direct: set[int] = set()
    indirect: set[int] = set()
    while r.pos < r.end:
        op = r.byte()
        if op in _PLAIN:
            continue
        if op == 0xFC:
            for _ in range(_MISC.get(r.u32(), 0)):
                r.u32()
            continue
        if op == 0xFD:
            _simd(r)
            continue
        if op == 0xFE:
            if r.u32() == 0x03:  # atomic.fence
                r.byte()
            else:
                _memarg(r)
            continue
        kinds = _IMMEDIATES.get(op)
        if kinds is None:
            raise r.error(f"instruction 0x{op:02x} not known to the fork rewriter")
        if op in _CALLS:
            direct.add(r.u32())
            continue
        if op in _INDIRECT_CALLS:
            indirect.add(r.u32())
            if op in (0x11, 0x13):
                r.u32()
            continue
        for kind in kinds:
            if kind == _U32:
                r.u32()
            elif kind == _S32:
                r.s32()
            elif kind == _S64:
                r.s64()
            elif kind in (_BLOCK, _HEAP):
                _block_type(r)
            elif kind == "memarg":
                _memarg(r)
            elif kind == "f32":
                r.bytes(4)
            elif kind == "f64":
                r.bytes(8)
            elif kind == "vec":
                for _ in range(r.u32() + 1):
                    r.u32()
            elif kind == "types":
                for _ in range(r.u32()):
                    r.byte()
            elif kind == "try_table":
                _block_type(r)
                for _ in range(r.u32()):
                    catch = r.byte()
                    if catch <= 1:
                        r.u32()  # the tag
                    r.u32()  # the label
    return direct, indirect


def functions_reaching(module: wasm.Module, data: bytes, target: int) -> set[int]:
    """Every defined function from which a chain of calls can reach function target.

    An indirect call of a type may reach every function of the same
    signature that an element segment puts in a table.
    """
    by_signature: dict[wasm.FunctionType, list[int]] = defaultdict(list)
    for function in set(module.element_functions):
        by_signature[module.types[module.function_types[function]]].append(function)
    callers: dict[int, set[int]] = defaultdict(set)
    view = memoryview(data)
    first = module.imported_functions
    for i, body in enumerate(module.code):
        direct, indirect = calls(view, body)
        for type_index in indirect:
            direct.update(by_signature.get(module.types[type_index], ()))
        for callee in direct:
            callers[callee].add(first + i)
    reached: set[int] = set()
    todo = [target]
    while todo:
        for caller in callers.pop(todo.pop(), ()):
            if caller not in reached:
                reached.add(caller)
                todo.append(caller)
    return reached


def _fork_import(module: wasm.Module) -> int | None:
    functions = (imp for imp in module.imports if imp.kind == "func")
    for index, imp in enumerate(functions):
        if (imp.module, imp.name) == FORK_IMPORT:
            return index
    return None


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def export_mutable_globals(data: bytes) -> bytes:
    """The module with every mutable global it does not export yet exported as fork.global.N."""
    module = wasm.parse_module(data)
    exported = {e.index for e in module.exports if e.kind == "global"}
    missing = [g.index for g in module.globals if g.mutable and g.index not in exported]
    if not missing:
        return data
    section = next(s for s in module.sections if s.name == "export")
    r = wasm._Reader(memoryview(data), section.offset, section.offset + section.size, "export")
    count = r.u32()
    entries = bytearray(data[r.pos:r.end])
    for index in missing:
        name = f"{GLOBAL_EXPORT_PREFIX}{index}".encode()
        entries += _uleb(len(name)) + name + bytes([3]) + _uleb(index)
    content = _uleb(count + len(missing)) + bytes(entries)
    # The section's id and size field come just before its payload.
    start = section.offset - 1 - len(_uleb(section.size))
    return data[:start] + bytes([7]) + _uleb(len(content)) + content + data[section.offset + section.size:]


def _run(command: list[str], what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ForkableError(f"{what} failed: {lines[-1] if lines else f'status {result.returncode}'}")
    return result.stdout


def _custom_section(name: str, payload: bytes) -> bytes:
    encoded = name.encode()
    content = _uleb(len(encoded)) + encoded + payload
    return bytes([0]) + _uleb(len(content)) + content


def report(program: Path) -> dict[str, int] | None:
    """What the rewrite did to program (bytes_before, functions, rewritten), or None if nothing."""
    payload = wasm.parse_module(program.read_bytes()).custom_sections.get(REPORT_SECTION)
    return None if payload is None else json.loads(bytes(payload))


def _rewrite(program: Path, data: bytes, module: wasm.Module, target: int) -> bytes:
    try:
        reached = functions_reaching(module, data, target)
    except wasm.WasmFormatError as err:
        raise ForkableError(f"{program}: {err}") from err
    wasm_opt = [str(nodejs.build()), str(binaryen.wasm_opt())]
    with tempfile.TemporaryDirectory(prefix="linuxwasm-fork-") as tmp:
        names = {}
        for line in _run([*wasm_opt, str(program), "--print-function-map", "-o", "/dev/null"],
                         f"{program}: wasm-opt").splitlines():
            index, _, name = line.partition(":")
            if index.isdigit():
                names[int(index)] = name
        only = Path(tmp) / "only.txt"
        only.write_text("".join(f"{names[i]}\n" for i in sorted(reached) if i in names))
        rewound = Path(tmp) / "asyncify.wasm"
        _run([*wasm_opt, str(program), "-g", "--asyncify", "-O1",
              f"--pass-arg=asyncify-imports@{'.'.join(FORK_IMPORT)}",
              f"--pass-arg=asyncify-onlylist@@{only}", "-o", str(rewound)],
             f"{program}: wasm-opt --asyncify")
        rewritten = export_mutable_globals(rewound.read_bytes())
    facts = {"bytes_before": len(data), "functions": len(module.code), "rewritten": len(reached)}
    return rewritten + _custom_section(REPORT_SECTION, json.dumps(facts).encode())


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    for path in INPUTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def make_forkable(program: Path) -> bool:
    """Rewrite program in place if it calls fork; whether it does.

    What is no Wasm module (the compiler printed something, or made no
    file: a configure script's probe) is left alone. A rewrite is kept in
    a cache by the program's bytes: BusyBox's trylink links the same
    program several times over, and the rewrite takes a minute.
    """
    if not program.is_file():
        return False
    data = program.read_bytes()
    if not data.startswith(wasm.MAGIC):
        return False
    module = wasm.parse_module(data)
    target = _fork_import(module)
    if target is None or any(e.name == "asyncify_start_unwind" for e in module.exports):
        return False
    key = hashlib.sha256(_inputs_digest().encode() + data).hexdigest()
    cached = CACHE / f"{key}.wasm"
    if cached.is_file():
        program.write_bytes(cached.read_bytes())
        cached.touch()  # the most recently used stay
        return True
    rewritten = _rewrite(program, data, module, target)
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in sorted(CACHE.glob("*.wasm"), key=lambda p: p.stat().st_mtime)[:-(CACHE_ENTRIES - 1)]:
        old.unlink(missing_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(rewritten)
    partial.replace(cached)
    program.write_bytes(rewritten)
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m linuxwasm.forkable PROGRAM.wasm", file=sys.stderr)
        return 2
    try:
        make_forkable(Path(argv[0]))
    except (LinuxWasmError, OSError) as err:
        print(f"linuxwasm.forkable: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
