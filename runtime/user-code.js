// What a user program's code must not do. A program's memory is laid out,
// grown and counted against the machine's memory by the kernel
// (arch/wasm/mm/usermem.c): a program that grew its memory itself
// (memory.grow), defined memories of its own, or grew its tables
// (table.grow) would hold host memory that nobody counts. So every
// program's code is checked once, when it is first loaded, and one that
// can do any of that is not run (ENOEXEC).
//
// Reading every instruction of busybox costs tens of milliseconds, too
// much for each boot. But memory.grow is the byte 0x40 then a memory
// index, which is 0 (0x00, or 0x80... 0x00 if padded) since a program has
// exactly one memory (user-abi.js), and table.grow is 0xfc then 15 (as a
// LEB128, maybe padded): only the function bodies where such bytes occur
// are read instruction by instruction (about 50 of busybox's 3,000), to
// see whether they are that instruction or parts of others. In such a
// body, an instruction or a type the reader does not know is refused too:
// what cannot be read cannot be vouched for. The types of the module may
// be function types of numbers and plain references only (no garbage
// collected structs or arrays: their allocations would be host memory
// too), and its tables hold at most MAX_TABLE entries to begin with.

const TYPE_SECTION = 1;
const TABLE_SECTION = 4;
const MEMORY_SECTION = 5;
const CODE_SECTION = 10;
const MAX_TABLE = 1 << 20;

/** i32, i64, f32, f64, v128, funcref, externref: types of one byte. */
const simpleType = (byte) => (byte >= 0x7b && byte <= 0x7f) || byte === 0x70 || byte === 0x6f;

/** A cursor over a module's bytes. */
class Cursor {
  /** @param {Uint8Array} bytes @param {number} at */
  constructor(bytes, at) {
    this.b = bytes;
    this.at = at;
  }

  u32() {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.b[this.at++];
      result += (byte & 0x7f) * 2 ** shift;
      if (!(byte >= 0x80)) return result;
    }
    return result;
  }

  /** Skip a LEB128 number, signed or not. */
  leb() {
    while (this.b[this.at++] & 0x80);
  }

  /** A block type: empty, a value type, or a type index (s33); false for types not known here. */
  blockType() {
    const first = this.b[this.at];
    if (first === 0x40 || simpleType(first)) this.at++;
    else if (first < 0x40) this.leb(); // a type index: not a negative s33
    else return false;
    return true;
  }

  /** A memory argument: alignment (with a memory index if bit 6 says so) and offset. */
  memarg() {
    if (this.u32() & 0x40) this.leb();
    this.leb();
  }
}

/** Where bytes[from, to) hold what could be memory.grow or table.grow, in order. */
function growCandidates(bytes, from, to) {
  const found = [];
  for (let i = bytes.indexOf(0x40, from); i >= 0 && i < to; i = bytes.indexOf(0x40, i + 1)) {
    let j = i + 1;
    while (bytes[j] === 0x80) j++;
    if (bytes[j] === 0x00) found.push(i);
  }
  for (let i = bytes.indexOf(0xfc, from); i >= 0 && i < to; i = bytes.indexOf(0xfc, i + 1)) {
    if ((bytes[i + 1] & 0x7f) === 15 && new Cursor(bytes, i + 1).u32() === 15) found.push(i);
  }
  return found.sort((x, y) => x - y);
}

/** Whether the type section (from c.at to end) has function types of simple types only. */
function simpleTypes(c, end) {
  for (let count = c.u32(); count > 0; count--) {
    if (c.b[c.at++] !== 0x60) return false;
    for (let lists = 0; lists < 2; lists++) {
      for (let n = c.u32(); n > 0; n--) {
        if (!simpleType(c.b[c.at++])) return false;
      }
    }
  }
  return c.at === end;
}

/** Whether every table of the table section (from c.at) starts small. */
function smallTables(c) {
  for (let count = c.u32(); count > 0; count--) {
    if (!simpleType(c.b[c.at++])) return false;
    const flags = c.u32();
    if (c.u32() > MAX_TABLE) return false;
    if (flags & 1) c.u32();
  }
  return true;
}

/**
 * Why one function body's instructions (from c.at to end) are not allowed, or null.
 * @param {Cursor} c @param {number} end
 */
function bodyProblem(c, end) {
  while (c.at < end) {
    const op = c.b[c.at++];
    if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x06 || op === 0xd0) {
      if (!c.blockType()) return 'a type not known here';
    } else if ((op >= 0x07 && op <= 0x09) || op === 0x0c || op === 0x0d || op === 0x10 || op === 0x12
      || op === 0x14 || op === 0x15 || op === 0x18 || (op >= 0x20 && op <= 0x26) || op === 0x3f
      || op === 0x41 || op === 0x42 || op === 0xd2 || op === 0xd5 || op === 0xd6) c.leb();
    else if (op === 0x0e) {
      for (let n = c.u32() + 1; n > 0 && c.at < end; n--) c.leb();
    } else if (op === 0x11 || op === 0x13) { c.leb(); c.leb(); }
    else if (op === 0x1c) {
      for (let n = c.u32(); n > 0 && c.at < end; n--) {
        if (!simpleType(c.b[c.at++])) return 'a type not known here';
      }
    } else if (op === 0x1f) { // try_table: its catch clauses
      if (!c.blockType()) return 'a type not known here';
      for (let n = c.u32(); n > 0 && c.at < end; n--) {
        if (c.b[c.at++] <= 1) c.leb();
        c.leb();
      }
    } else if (op >= 0x28 && op <= 0x3e) c.memarg();
    else if (op === 0x40) return 'it grows its memory itself (memory.grow)';
    else if (op === 0x43) c.at += 4;
    else if (op === 0x44) c.at += 8;
    else if (op === 0xfc) {
      const sub = c.u32();
      if (sub === 15) return 'it grows a table (table.grow)';
      if (sub === 8 || sub === 10 || sub === 12 || sub === 14) { c.leb(); c.leb(); }
      else if (sub === 9 || sub === 11 || sub === 13 || sub === 16 || sub === 17) c.leb();
      else if (sub > 7) return `an unknown instruction 0xfc ${sub}`;
    } else if (op === 0xfd) { // SIMD
      const sub = c.u32();
      if (sub <= 11 || sub === 92 || sub === 93) c.memarg();
      else if (sub === 12 || sub === 13) c.at += 16;
      else if (sub >= 21 && sub <= 34) c.at++;
      else if (sub >= 84 && sub <= 91) { c.memarg(); c.at++; }
    } else if (op === 0xfe) { // threads
      const sub = c.u32();
      if (sub === 0x03) c.at++;
      else if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) c.memarg();
      else return `an unknown instruction 0xfe ${sub}`;
    } else if (!(op <= 0x01 || op === 0x05 || op === 0x0a || op === 0x0b || op === 0x0f || op === 0x19
      || op === 0x1a || op === 0x1b || (op >= 0x45 && op <= 0xc4) || op === 0xd1 || op === 0xd3
      || op === 0xd4)) {
      return `an unknown instruction 0x${op.toString(16)}`;
    }
  }
  return c.at === end ? null : 'a function body that ends inside an instruction';
}

/**
 * Why a module's code may not run as a user program, or null.
 * @param {Uint8Array} bytes  the module, which the engine has compiled (so it is well formed)
 * @returns {string|null}
 */
export function codeProblem(bytes) {
  const c = new Cursor(bytes, 8);
  while (c.at < bytes.length) {
    const id = c.b[c.at++];
    const sectionEnd = c.u32() + c.at;
    if (id === MEMORY_SECTION && c.u32() > 0) return 'it defines a memory of its own';
    if (id === TYPE_SECTION && !simpleTypes(c, sectionEnd)) return 'it has types not known here';
    if (id === TABLE_SECTION && !smallTables(c)) return `a table of more than ${MAX_TABLE} entries`;
    const candidates = id === CODE_SECTION ? growCandidates(bytes, c.at, sectionEnd) : [];
    let next = 0;
    for (let count = candidates.length ? c.u32() : 0; count > 0 && next < candidates.length; count--) {
      const end = c.u32() + c.at;
      if (candidates[next] < end) {
        for (let groups = c.u32(); groups > 0; groups--) {
          c.leb();
          if (!simpleType(c.b[c.at++])) return 'a local of a type not known here';
        }
        const problem = bodyProblem(c, end);
        if (problem) return problem;
        while (next < candidates.length && candidates[next] < end) next++;
      }
      c.at = end;
    }
    c.at = sectionEnd;
  }
  return null;
}
