// The programs compiled so far, by key: a fingerprint of a program's
// bytes, and the key of each file it came from (abi.js). A guest can make
// any number of distinct programs (one byte more each time), and each
// compiled one holds host memory: beyond a budget of program bytes, or of
// keys, the least recently used are forgotten (and compiled again if they
// come back). Running programs keep their own modules.

const MAX_BYTES = 64 << 20;
const MAX_KEYS = 4096;

/** @typedef {{module: WebAssembly.Module, limits: object, size: number}} CachedProgram */

export class ProgramCache {
  /** @param {Map<string, CachedProgram>} [entries]  to start from (sent by the machine) */
  constructor(entries = new Map()) {
    /** @type {Map<string, CachedProgram>} least recently used first */
    this.entries = new Map();
    /** @type {Map<CachedProgram, number>} how many keys each program has */
    this.keys = new Map();
    this.bytes = 0;
    for (const [key, program] of entries) this.set(key, program);
  }

  /** @param {string} key */
  get(key) {
    const program = this.entries.get(key);
    if (program) {
      this.entries.delete(key);
      this.entries.set(key, program);
    }
    return program;
  }

  /** @param {string} key @param {CachedProgram} program */
  set(key, program) {
    this.delete(key);
    this.entries.set(key, program);
    const keys = this.keys.get(program) ?? 0;
    if (!keys) this.bytes += program.size;
    this.keys.set(program, keys + 1);
    for (const oldest of this.entries.keys()) {
      if ((this.bytes <= MAX_BYTES && this.entries.size <= MAX_KEYS) || oldest === key) break;
      this.delete(oldest);
    }
  }

  /** @param {string} key */
  delete(key) {
    const program = this.entries.get(key);
    if (!program) return;
    this.entries.delete(key);
    const keys = this.keys.get(program) - 1;
    if (keys) {
      this.keys.set(program, keys);
    } else {
      this.keys.delete(program);
      this.bytes -= program.size;
    }
  }
}
