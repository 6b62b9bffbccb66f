// Reading and writing the Wasm binary format, as far as the host's rewrites
// of modules need it (preempt.js for user programs, module-code.js for
// kernel modules): LEB128 numbers, names, sections, and a walk over the
// instructions of a function body.

/** Reads a module's bytes: LEB128 numbers, names. */
export class Reader {
  /** @param {Uint8Array} bytes @param {number} at */
  constructor(bytes, at = 0) {
    this.bytes = bytes;
    this.at = at;
  }

  byte() {
    if (this.at >= this.bytes.length) throw new Error('unexpected end');
    return this.bytes[this.at++];
  }

  u32() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(byte & 0x80)) return result;
    }
  }

  /** Skip a run of bytes that its length precedes (a vector of one-byte items). */
  skipBytes() {
    const length = this.u32();
    this.at += length;
  }

  /** Skip a LEB128 number, signed or not. */
  leb() {
    while (this.byte() & 0x80);
  }

  name() {
    const length = this.u32();
    this.at += length;
    return new TextDecoder().decode(this.bytes.subarray(this.at - length, this.at));
  }
}

/** Signed LEB128, as i32.const writes its value. @param {number} value */
export function encodeS32(value) {
  const out = [];
  value |= 0;
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && !(byte & 0x40)) || (value === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/** Unsigned LEB128, as Wasm binaries write counts and indices. @param {number} value */
export function encodeU32(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return out;
}

function skipBlockType(r) {
  const first = r.bytes[r.at];
  if (first === 0x40 || (first >= 0x6f && first <= 0x7f)) r.at++;
  else r.leb(); // a type index (s33)
}

function skipMemarg(r) {
  r.u32(); // alignment
  r.u32(); // offset
}

/** Immediates of 0xfc-prefixed instructions, by subopcode. */
function skipMisc(r) {
  const op = r.u32();
  if (op <= 7) return; // saturating truncations
  switch (op) {
    case 8: r.u32(); r.u32(); return; // memory.init data, memory
    case 9: case 11: case 13: case 15: case 16: case 17: r.u32(); return;
    case 10: case 12: case 14: r.u32(); r.u32(); return;
    default: throw new Error(`unknown instruction 0xfc ${op}`);
  }
}

function skipAtomic(r) {
  const op = r.u32();
  if (op === 0x03) r.byte(); // atomic.fence
  else if (op <= 0x02 || (op >= 0x10 && op <= 0x4e)) skipMemarg(r);
  else throw new Error(`unknown instruction 0xfe ${op}`);
}

/**
 * Walk the instructions of one function body, from r.at to end, calling
 * visit(op, start) after each one's immediates (r.at is then its end; a
 * prefixed instruction's op is the prefix). Throws for an instruction
 * not known here.
 * @param {Reader} r @param {number} end
 * @param {(op: number, start: number) => void} visit
 */
export function forEachInstruction(r, end, visit) {
  while (r.at < end) {
    const start = r.at;
    const op = r.byte();
    if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x06) skipBlockType(r);
    else if ((op >= 0x07 && op <= 0x09) || op === 0x0c || op === 0x0d || op === 0x10 || op === 0x12
      || op === 0x18 || (op >= 0x20 && op <= 0x26) || op === 0xd2) r.u32();
    else if (op === 0x0e) {
      for (let n = r.u32() + 1; n > 0; n--) r.u32();
    } else if (op === 0x11 || op === 0x13) { r.u32(); r.u32(); }
    else if (op === 0x1c) r.skipBytes(); // select with its types
    else if (op >= 0x28 && op <= 0x3e) skipMemarg(r);
    else if (op === 0x3f || op === 0x40) r.u32();
    else if (op === 0x41 || op === 0x42) r.leb();
    else if (op === 0x43) r.at += 4;
    else if (op === 0x44) r.at += 8;
    else if (op === 0xd0) skipBlockType(r); // a heap type: one byte or an index
    else if (op === 0xfc) skipMisc(r);
    else if (op === 0xfe) skipAtomic(r);
    else if (op <= 0x01 || op === 0x05 || op === 0x0a || op === 0x0b || op === 0x0f || op === 0x19
      || op === 0x1a || op === 0x1b || (op >= 0x45 && op <= 0xc4) || op === 0xd1) { /* none */ }
    else throw new Error(`unknown instruction 0x${op.toString(16)}`);
    visit(op, start);
  }
}

/**
 * The function imports of an import section, in order, each as
 * "module.field": a function's index is its place here.
 * @param {Reader} r  at the section's content @param {number} end
 */
export function functionImports(r, end) {
  const functions = [];
  for (let count = r.u32(); count > 0 && r.at < end; count--) {
    const module = r.name();
    const field = r.name();
    const kind = r.byte();
    if (kind === 0) {
      r.u32();
      functions.push(`${module}.${field}`);
    } else if (kind === 1) { r.byte(); const flags = r.byte(); r.u32(); if (flags & 1) r.u32(); }
    else if (kind === 2) { const flags = r.byte(); r.u32(); if (flags & 1) r.u32(); }
    else if (kind === 3) r.at += 2;
    else if (kind === 4) { r.byte(); r.u32(); }
    else throw new Error(`unknown import kind ${kind}`);
  }
  return functions;
}

/**
 * The sections of a module after its header, each with its id and where
 * its content lies.
 * @param {Uint8Array} bytes
 * @returns {{id: number, start: number, content: number, end: number}[]}
 */
export function sections(bytes) {
  const r = new Reader(bytes, 8);
  const found = [];
  while (r.at < bytes.length) {
    const start = r.at;
    const id = r.byte();
    const size = r.u32();
    found.push({ id, start, content: r.at, end: r.at + size });
    r.at += size;
  }
  if (r.at !== bytes.length) throw new Error('a section runs past the end');
  return found;
}

/** One array of many parts. @param {ArrayLike<number>[]} parts */
export function concat(parts) {
  const result = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    result.set(part, at);
    at += part.length;
  }
  return result;
}
