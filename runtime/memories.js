// The memories of the user programs on one host thread. Each program gets
// a Wasm memory of its own (user-abi.js), which the tasks of its process
// share (threads, a vfork child until it execs): a memory is counted by
// the tasks that use it. The machine holds each one too, to set its
// preemption flag (machine.js), and is told when it may let go.
//
// A memory no task uses any more goes to a small pool, if this thread has
// one (coroutines: all tasks here), for the next program of the same
// maximum size and about the same size, if it is small: its pages stay
// resident while it waits, and the kernel counts a memory's whole size
// against the machine's memory only while a process has it
// (arch/wasm/mm/usermem.c). Engines
// free a memory only in a garbage collection, after every thread has
// dropped it, and until then it keeps its address space (about 10 GiB
// with V8's guard regions, of 1 TiB for all memories) and its touched
// pages: whoever is told to forget one collects once enough bytes were
// forgotten (FORGOTTEN_BYTES_PER_COLLECTION). A process that ends as the
// next starts needs no collection then, and no new memory whose pages the
// system must clear on first touch.

import { ZERO_GLUE } from './glue.js';
import { WASM_PAGE } from './user-abi.js';

const zeroModule = new WebAssembly.Module(ZERO_GLUE);

/** The largest memory kept in the pool for the next program. */
const POOLED_BYTES_MAX = 8 << 20;
/** How much larger than a program's initial memory a pooled one it gets may be. */
const POOLED_SLACK_BYTES = 1 << 20;
/** Forgotten memories' bytes that call for a collection. */
export const FORGOTTEN_BYTES_PER_COLLECTION = 32 << 20;

export class ProgramMemories {
  /**
   * @param {(message: object) => void} post  to the machine: {kind: 'memory', id, memory}, {kind: 'forget', id, bytes}
   * @param {number} poolSize  how many unused memories to keep; 0 for none
   */
  constructor(post, poolSize) {
    this.post = post;
    this.poolSize = poolSize;
    /** @type {Map<WebAssembly.Memory, {id: number, users: number, max: number, zero: ((bytes: number) => void)|null}>} */
    this.known = new Map();
    /** @type {WebAssembly.Memory[]} unused, newest last */
    this.pool = [];
    this.nextId = 1;
  }

  /**
   * A memory for a new program, held once for the caller: from the pool,
   * its first min pages cleared (the kernel clears what it maps above), or new.
   * @param {{min: number, max: number}} limits  of the program's memory import, in pages
   * @returns {WebAssembly.Memory}
   */
  take({ min, max }) {
    const index = this.nearest(min * WASM_PAGE, max, POOLED_SLACK_BYTES);
    if (index >= 0) {
      const [memory] = this.pool.splice(index, 1);
      const pages = memory.buffer.byteLength / WASM_PAGE;
      if (pages < min) memory.grow(min - pages);
      const entry = this.known.get(memory);
      entry.zero ??= new WebAssembly.Instance(zeroModule, { env: { memory } }).exports.zero;
      // Only what the last program could have written: grown pages are zero.
      entry.zero(Math.min(min, pages) * WASM_PAGE);
      entry.users = 1;
      return memory;
    }
    const memory = new WebAssembly.Memory({ initial: min, maximum: max, shared: true });
    this.register(memory, max);
    return memory;
  }

  /**
   * The pooled memory of that maximum nearest to bytes and at most slack
   * bytes larger, or -1. The kernel counts the whole memory against the
   * machine's, and a fork copies all of it: a small program must not get
   * a large memory.
   * @param {number} bytes
   * @param {number} max  in pages
   * @param {number} slack
   * @returns {number}
   */
  nearest(bytes, max, slack) {
    let best = -1;
    let bestDistance = Infinity;
    this.pool.forEach((memory, index) => {
      const size = memory.buffer.byteLength;
      const distance = Math.abs(size - bytes);
      if (this.known.get(memory).max === max && size <= bytes + slack && distance < bestDistance) {
        best = index;
        bestDistance = distance;
      }
    });
    return best;
  }

  /**
   * A new memory with the contents of source, held once, for a fork
   * child: the pooled one nearest its size and no larger, grown to it, or new.
   * @param {WebAssembly.Memory} source
   * @param {number} max  its maximum size in pages
   * @returns {WebAssembly.Memory}
   */
  copy(source, max) {
    const bytes = source.buffer.byteLength;
    const index = this.nearest(bytes, max, 0);
    let memory;
    if (index >= 0) {
      [memory] = this.pool.splice(index, 1);
      this.known.get(memory).users = 1;
      memory.grow((bytes - memory.buffer.byteLength) / WASM_PAGE);
    } else {
      memory = new WebAssembly.Memory({ initial: bytes / WASM_PAGE, maximum: max, shared: true });
      this.register(memory, max);
    }
    new Uint8Array(memory.buffer).set(new Uint8Array(source.buffer, 0, bytes));
    return memory;
  }

  /** A memory new to this thread, used once. */
  register(memory, max) {
    const id = this.nextId++;
    this.known.set(memory, { id, users: 1, max, zero: null });
    this.post({ kind: 'memory', id, memory });
  }

  /**
   * One more task uses the memory: a clone child. With a thread per task
   * it may be new here, sent from the parent's thread.
   * @param {WebAssembly.Memory} memory
   * @param {number} max  its maximum size in pages
   */
  hold(memory, max) {
    const entry = this.known.get(memory);
    if (entry) {
      entry.users++;
      return;
    }
    this.register(memory, max);
  }

  /** A task stopped using the memory. @param {WebAssembly.Memory} memory */
  release(memory) {
    const entry = this.known.get(memory);
    if (--entry.users > 0) return;
    const bytes = memory.buffer.byteLength;
    if (this.pool.length < this.poolSize && bytes <= POOLED_BYTES_MAX) {
      this.pool.push(memory);
      return;
    }
    this.known.delete(memory);
    this.post({ kind: 'forget', id: entry.id, bytes });
  }
}
