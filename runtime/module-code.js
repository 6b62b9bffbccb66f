// The host's rewrite of a kernel module's code before it is compiled
// (modules.js). Two additions, nothing else changes:
//
// - Before each memory access, a look at its base address: one in the
//   first page, which Linux leaves unmapped, stores the address it would
//   have reached in the kernel's wasm_null_fault (arch/wasm/kernel/traps.c)
//   and traps. Wasm has no unmapped page of its own (address 0 is memory
//   like any other), so without it a NULL dereference in a module would
//   read zeros or quietly write over the kernel's first bytes, where Linux
//   gives an oops that names the module and the function.
//
//     (the values above the address)  local.set ...
//     local.tee $address  i32.const 4096  i32.lt_u
//     if
//       i32.const 0  local.get $address  i32.const <offset>  i32.add
//       i32.store offset=<wasm_null_fault>              ;; where
//       i32.const 0  i32.const 1
//       i32.store offset=<wasm_null_fault + 4>          ;; that it did
//       unreachable
//     end
//     local.get $address  local.get ...  <the access>
//
// - The module's name in its name section, which the engine puts in a
//   trap's stack ("at hello.hello_init (wasm://wasm/hello-1f2e3d4c:...)"),
//   so that the kernel's oops can say which module a function is in.

import {
  Reader, concat, encodeS32, encodeU32, forEachInstruction, functionImports, sections,
} from './wasm-binary.js';

/** The first page, which no kernel pointer points into. */
export const NULL_PAGE = 4096;

const TYPE_SECTION = 1;
const IMPORT_SECTION = 2;
const FUNCTION_SECTION = 3;
const CODE_SECTION = 10;
const CUSTOM_SECTION = 0;

const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;

/** The types of the operands a plain load or store (0x28-0x3e) takes above its address. */
function plainOperands(op) {
  if (op <= 0x35) return [];
  return [[I32], [I64], [F32], [F64], [I32], [I32], [I64], [I64], [I64]][op - 0x36];
}

/** The same for an atomic instruction (0xfe prefix), by its subopcode; null if it has no address. */
function atomicOperands(sub) {
  if (sub === 0x00) return [I32]; // memory.atomic.notify
  if (sub === 0x01) return [I32, I64]; // memory.atomic.wait32
  if (sub === 0x02) return [I64, I64]; // memory.atomic.wait64
  if (sub === 0x03) return null; // atomic.fence
  if (sub <= 0x16) return []; // loads
  if (sub <= 0x1d) return [[I32], [I64], [I32], [I32], [I64], [I64], [I64]][sub - 0x17];
  // read-modify-write, seven widths of each: i32, i64, i32 8 and 16, i64 8, 16 and 32
  const type = [I32, I64, I32, I32, I64, I64, I64][(sub - 0x1e) % 7];
  return sub < 0x48 ? [type] : [type, type]; // cmpxchg: expected, replacement
}

/** The locals the checks use, after the function's own: the address, then spare values. */
const SPARE = [I32, I32, I32, I64, I64, F32, F64];
const SPARE_GROUPS = [[3, I32], [2, I64], [1, F32], [1, F64]];

/** The number of parameters of each function type. @param {Reader} r @param {number} end */
function paramCounts(r, end) {
  const counts = [];
  for (let n = r.u32(); n > 0 && r.at < end; n--) {
    if (r.byte() !== 0x60) throw new Error('a type that is not a function type');
    const params = r.u32();
    r.at += params;
    r.skipBytes(); // results
    counts.push(params);
  }
  return counts;
}

/**
 * The check before one access whose base address has `operands` above it.
 * @param {number[]} operands @param {number} offset @param {number} base  the first spare local
 * @param {number} fault  the address of wasm_null_fault
 */
function check(operands, offset, base, fault) {
  const taken = new Map();
  const slots = operands.map((type) => {
    const first = SPARE.indexOf(type, 1);
    const slot = first + (taken.get(type) ?? 0);
    taken.set(type, (taken.get(type) ?? 0) + 1);
    return base + slot;
  });
  const address = encodeU32(base);
  return [
    ...[...slots].reverse().flatMap((slot) => [0x21, ...encodeU32(slot)]), // local.set
    0x22, ...address, 0x41, ...encodeS32(NULL_PAGE), 0x49, // local.tee, i32.const, i32.lt_u
    0x04, 0x40, // if
    0x41, 0x00, 0x20, ...address,
    ...(offset ? [0x41, ...encodeS32(offset), 0x6a] : []), // i32.add
    0x36, 0x02, ...encodeU32(fault), // i32.store
    0x41, 0x00, 0x41, 0x01, 0x36, 0x02, ...encodeU32(fault + 4),
    0x00, // unreachable
    0x0b, // end
    0x20, ...address,
    ...slots.flatMap((slot) => [0x20, ...encodeU32(slot)]), // local.get
  ];
}

/**
 * One function body with a check before each memory access.
 * @param {Uint8Array} bytes @param {number} start @param {number} end
 * @param {number} params @param {number} fault
 */
function checkedBody(bytes, start, end, params, fault) {
  const r = new Reader(bytes, start);
  const groups = r.u32();
  const groupsStart = r.at;
  let locals = 0;
  for (let n = groups; n > 0; n--) {
    locals += r.u32();
    r.byte();
  }
  const declared = bytes.subarray(groupsStart, r.at);
  const base = params + locals;
  const parts = [
    encodeU32(groups + SPARE_GROUPS.length), declared,
    SPARE_GROUPS.flatMap(([count, type]) => [count, type]),
  ];
  let from = r.at;
  forEachInstruction(r, end, (op, at) => {
    let operands;
    let memarg = at + 1;
    if (op >= 0x28 && op <= 0x3e) operands = plainOperands(op);
    else if (op === 0xfe) {
      const sub = new Reader(bytes, at + 1);
      operands = atomicOperands(sub.u32());
      memarg = sub.at;
    } else return;
    if (!operands) return;
    const m = new Reader(bytes, memarg);
    if (m.u32() & 0x40) throw new Error('a memory access names a memory');
    parts.push(bytes.subarray(from, at), check(operands, m.u32(), base, fault));
    from = at;
  });
  parts.push(bytes.subarray(from, end));
  return concat(parts);
}

/** A name section's content with `name` as the module's name. */
function namedContent(name, old) {
  const parts = [encodeU32(4), new TextEncoder().encode('name')];
  const own = new TextEncoder().encode(name);
  const moduleName = [...encodeU32(own.length), ...own];
  parts.push([0, ...encodeU32(moduleName.length), ...moduleName]);
  if (old) {
    const r = new Reader(old);
    r.name();
    while (r.at < old.length) {
      const start = r.at;
      const id = r.byte();
      r.skipBytes();
      if (id !== 0) parts.push(old.subarray(start, r.at));
    }
  }
  return concat(parts);
}

/**
 * A function body of the rewritten code: where it lies in the module's
 * bytes, as the engine's stack counts offsets.
 * @typedef {{start: number, size: number}} Body
 */

/**
 * A kernel module's code as the host compiles it: checked, and named.
 * Throws if the code has something this does not know.
 * @param {Uint8Array} bytes  the side module
 * @param {string} name  the module's name
 * @param {number} fault  the address of the kernel's wasm_null_fault
 * @returns {{bytes: Uint8Array, imported: number, bodies: Body[]}}  imported: the
 *   number of imported functions, which come before the bodies' functions
 */
export function moduleCode(bytes, name, fault) {
  const found = sections(bytes);
  const content = (id) => found.find((s) => s.id === id);
  const reader = (s) => new Reader(bytes, s.content);
  const types = content(TYPE_SECTION);
  const functions = content(FUNCTION_SECTION);
  const imports = content(IMPORT_SECTION);
  const params = types ? paramCounts(reader(types), types.end) : [];
  const imported = imports ? functionImports(reader(imports), imports.end).length : 0;
  const typeOf = [];
  if (functions) {
    const r = reader(functions);
    for (let n = r.u32(); n > 0; n--) typeOf.push(r.u32());
  }
  const out = [bytes.subarray(0, 8)];
  let at = 8;
  const bodies = [];
  let oldNames = null;
  for (const s of found) {
    if (s.id === CUSTOM_SECTION && new Reader(bytes, s.content).name() === 'name') {
      oldNames = bytes.subarray(s.content, s.end);
      continue;
    }
    if (s.id !== CODE_SECTION) {
      out.push(bytes.subarray(s.start, s.end));
      at += s.end - s.start;
      continue;
    }
    const r = reader(s);
    const count = r.u32();
    const parts = [encodeU32(count)];
    let length = parts[0].length;
    const offsets = [];
    for (let i = 0; i < count; i++) {
      const size = r.u32();
      const body = checkedBody(bytes, r.at, r.at + size, params[typeOf[i]] ?? 0, fault);
      const sizeBytes = encodeU32(body.length);
      offsets.push({ start: length + sizeBytes.length, size: body.length });
      parts.push(sizeBytes, body);
      length += sizeBytes.length + body.length;
      r.at += size;
    }
    const header = [s.id, ...encodeU32(length)];
    out.push(header, ...parts);
    for (const { start, size } of offsets) bodies.push({ start: at + header.length + start, size });
    at += header.length + length;
  }
  const names = namedContent(name, oldNames);
  out.push([CUSTOM_SECTION, ...encodeU32(names.length)], names);
  return { bytes: concat(out), imported, bodies };
}
