// The host side of the kernel's import ABI (arch/wasm/include/asm/host.h):
// one function per import, each running on the thread of the task that
// calls it. Keep the two files in step.

/** Interrupt lines: bits of the kernel's wasm_irq_pending word (asm/irq.h). */
export const IRQ_TIMER = 1;
export const IRQ_CONSOLE = 2;
export const IRQ_AGENT = 3;
export const IRQ_RESIZE = 4;
export const IRQ_LOG = 5;
/** The first of the virtio devices' lines, one each (virtio/bus.js). */
export const IRQ_VIRTIO_FIRST = 8;

/** The host's terminals (hvc vterm numbers, arch/wasm/kernel/console.c). */
export const VT_CONSOLE = 0;
export const VT_AGENT = 1;
export const VT_LOG = 2;

/**
 * Thrown to leave a task's Wasm frames for good: the task is dead or the
 * machine halted. Not an Error: an Error records the call stack, through
 * all those frames, which cost more than the rest of an exit.
 */
export class TaskExit {
  toString() {
    return 'task exit';
  }
}

import { programImports } from './fork.js';
import { HANDLER_GLUE } from './glue.js';
import { faultText, traceText } from './kernel-trace.js';
import { moduleImports } from './modules.js';
import { readInput } from './console-input.js';
import { addPreemptionPoints, hasPreemptionPoints } from './preempt.js';
import { ENOENT, ENOEXEC, UserRestart, WASM_PAGE, abiProblem, memoryImport } from './user-abi.js';
import { codeProblem } from './user-code.js';

const FUTEX_OP_ANDN = 3; // the order of FUTEX_OP_SET, ADD, OR, ANDN, XOR: 0 to 4
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A 64-bit fingerprint of a program's bytes (two FNV-1a hashes with
 * different bases), to find its compiled module again without compiling.
 * @param {Uint8Array} bytes
 */
export function fingerprint(bytes) {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i], 0x01000193);
    b = Math.imul(b ^ bytes[i], 0x811c9dc5 | 1);
  }
  return `${bytes.length}:${(a >>> 0).toString(16)}:${(b >>> 0).toString(16)}`;
}

/**
 * The program with its preemption points (preempt.js); as it is if it has
 * them already, or code the rewriter does not know (a busy loop in it then
 * holds the CPU).
 * @param {Uint8Array} bytes
 */
function withPreemptionPoints(bytes) {
  if (hasPreemptionPoints(bytes)) return bytes;
  try {
    return addPreemptionPoints(bytes);
  } catch {
    return bytes;
  }
}

/**
 * Read a NUL-terminated string from memory.
 * @param {WebAssembly.Memory} memory
 * @param {number} address
 */
export function readCString(memory, address) {
  const bytes = new Uint8Array(memory.buffer);
  let end = address;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return decoder.decode(bytes.slice(address, end));
}

/**
 * What the kernel imports see of a host thread: the machine's parts, this
 * thread's kernel instance, and the task it runs now.
 * @typedef {object} TaskContext
 * @property {WebAssembly.Module} module      the kernel
 * @property {boolean} coroutines             all tasks on this thread (coroutines.js)
 * @property {WebAssembly.Memory} memory      the shared kernel memory
 * @property {number} epoch                   the machine's clock origin (ms, performance.timeOrigin scale)
 * @property {string} cmdline                 the kernel command line
 * @property {Uint8Array|null} initrd         the initramfs (boot thread only)
 * @property {SharedArrayBuffer[]} inputs     input of each terminal, by vterm number (console-input.js)
 * @property {Int32Array} windowSize          the console's [rows, columns], 0 if unknown
 * @property {import('./virtio/transport.js').Transport} transport  the devices' registers
 * @property {(message: object) => void} post send a message to the machine
 * @property {(vterm: number, bytes: Uint8Array) => void} writeConsole
 * @property {() => void} idle                the CPU has nothing to run: the platform may use the time
 * @property {WebAssembly.Instance|null} kernel  this thread's kernel instance, once created
 * @property {import('./program-cache.js').ProgramCache} modules  compiled programs by fingerprint and by file key, shared by the machine
 * @property {import('./memories.js').ProgramMemories} memories  the user programs' memories on this thread
 * @property {TaskState} task                 the task running now
 */

/**
 * One task's part of the host.
 * @typedef {object} TaskState
 * @property {number} id                 its task_struct address (0 for the boot task on a thread of its own)
 * @property {boolean} boot              the boot task, which becomes the idle task
 * @property {UserProgram|null} user     its user program: its memory is what copy_*_user see
 * @property {CompiledProgram|null} loaded  the program an exec loads, until it is instantiated
 * @property {UserProgram|null} pending  a program instantiated by exec, until the exec commits to it
 * @property {{bytes: Uint8Array, length: number}|null} image  a program arriving from exec_chunk
 * @property {number} kernelTop         the kernel's stack pointer while the task is in user space
 * @property {{kernel: number, user: number}[]} kernelStacks  the kernel's and the program's stack
 *                                       pointers at each signal handler call, innermost last
 * @property {object|null} next          what to start on the next return to user space:
 *                                       {sp} of the exec'd program, {clone} for a clone or fork child
 *                                       (task.js cloneProgram, fork.js forkedProgram)
 * @property {object|null} entry         the piece that runs its program: fork.js START or a clone child's {fn, arg}
 * @property {object|null} fork          where its fork call stands (fork.js)
 * @property {Generator|null} pieces     the calls into Wasm of its life (task.js taskPieces)
 * @property {TaskExit|UserRestart|null} unwinding  what an import threw on purpose to unwind the task's
 *                                       Wasm frames (exec's restart, exit), until they are gone
 * @property {unknown} thrown            what to throw into its pieces instead of the next result
 * @property {Error|null} fault          the task's last trap, handed to the kernel (task.js)
 * @property {boolean} oops              the kernel has begun an oops for it (the fault_text import)
 */

/**
 * @param {number} id
 * @param {{boot?: boolean, clone?: object|null}} how  the boot task, or a clone child's user program
 * @returns {TaskState}
 */
export function newTaskState(id, { boot = false, clone = null } = {}) {
  return {
    id, boot, user: null, loaded: null, pending: null, image: null, kernelTop: 0, kernelStacks: [],
    next: clone ? { clone } : null, entry: null, fork: null, pieces: null, unwinding: null, thrown: null,
    fault: null, oops: false,
  };
}

/**
 * @typedef {object} CompiledProgram
 * @property {WebAssembly.Module} module
 * @property {{min: number, max: number, shared: boolean}|null} limits  of its memory import
 * @property {number} size  its bytes
 */

/**
 * @typedef {object} UserProgram
 * @property {WebAssembly.Module} module
 * @property {WebAssembly.Memory} memory  counted by ctx.memories for each task that uses it
 * @property {WebAssembly.Instance} instance
 * @property {number} maxBytes      the most the memory can grow to
 */

/**
 * How tasks meet host threads: the imports of one of the two ways
 * (arch/wasm/kernel/process.c), coroutines or a thread per task.
 * @typedef {object} Tasking
 * @property {() => number} coroutines
 * @property {Function} task_switch
 * @property {(task: number, user: number) => void} task_spawn
 * @property {() => never} task_exit
 * @property {(task: number, sp: number) => void} user_clone  the child shares the current program
 * @property {(task: number) => number} user_fork  the child gets a copy of it (fork.js); 0 or -errno
 * @property {(task: number) => void} user_forget  the clone or fork child never runs
 */

/**
 * This thread's instance of the kernel, with the signal handler glue
 * between it and user programs.
 * @param {WebAssembly.Module} module
 * @param {TaskContext} ctx
 * @param {Tasking} tasking
 */
export function instantiateKernel(module, ctx, tasking) {
  let glue = null;
  /** @type {import('./kernel-trace.js').LoadedCode} */
  const loadedCode = new Map();
  const imports = kernelImports(ctx, () => glue.exports.handlers, loadedCode);
  glue = new WebAssembly.Instance(new WebAssembly.Module(HANDLER_GLUE), { host: imports });
  const host = { ...imports, ...tasking, user_call: glue.exports.user_call };
  Object.assign(host, moduleImports(ctx, () => host, loadedCode));
  return new WebAssembly.Instance(module, { env: { memory: ctx.memory }, host });
}

/**
 * The "host" imports of one kernel instance, but for tasking and user_call.
 * @param {TaskContext} ctx
 * @param {() => WebAssembly.Table} handlers  the glue's table of the signal handler to call
 * @param {import('./kernel-trace.js').LoadedCode} loadedCode  the modules' code, for traces
 */
function kernelImports(ctx, handlers, loadedCode) {
  const kernel = () => new Uint8Array(ctx.memory.buffer);
  const kernelStack = () => ctx.kernel.exports.__stack_pointer;
  const userBytes = () => (ctx.task.user ? new Uint8Array(ctx.task.user.memory.buffer) : new Uint8Array(0));

  /** The user memory as 32-bit words, if uaddr is an aligned word in it. */
  function userWords(uaddr) {
    if (!ctx.task.user || uaddr & 3 || uaddr + 4 > ctx.task.user.memory.buffer.byteLength) return null;
    return new Int32Array(ctx.task.user.memory.buffer);
  }

  /** How many of the n bytes from addr lie in the user memory of size. */
  const userSpan = (addr, n, size) => (addr >= size ? 0 : Math.min(n, size - addr));

  /** Write text into a kernel buffer of size bytes, NUL-terminated; returns its length. */
  function writeCString(buf, size, text) {
    const bytes = encoder.encode(text).subarray(0, size - 1);
    const k = kernel();
    k.set(bytes, buf);
    k[buf + bytes.length] = 0;
    return bytes.length;
  }

  /** @param {string} key @param {CompiledProgram} program */
  function remember(key, program) {
    ctx.modules.set(key, program);
    ctx.post({ kind: 'module', key, program });
  }

  /**
   * The program an exec loads, until exec_instantiate: the size of its
   * initial memory in pages, or -ENOEXEC.
   * @param {CompiledProgram} program
   */
  function takeProgram(program) {
    if (abiProblem(program.module, program.limits)) return -ENOEXEC;
    ctx.task.loaded = program;
    return program.limits.min;
  }

  /**
   * A new instance of a program for exec, in a memory of its own: 0 or -ENOEXEC.
   * @param {CompiledProgram} program
   */
  function instantiateProgram({ module, limits }) {
    dropPending();
    const memory = ctx.memories.take(limits);
    try {
      const instance = new WebAssembly.Instance(module, programImports(ctx, memory));
      ctx.task.pending = {
        module, memory, instance, maxBytes: limits.max * WASM_PAGE,
      };
      return 0;
    } catch {
      ctx.memories.release(memory);
      return -ENOEXEC;
    }
  }

  /** An exec that did not commit to the program it loaded loads another. */
  function dropPending() {
    if (!ctx.task.pending) return;
    ctx.memories.release(ctx.task.pending.memory);
    ctx.task.pending = null;
  }

  return {
    cmdline: (buf, size) => writeCString(buf, size, ctx.cmdline),
    initrd_size: () => (ctx.initrd ? ctx.initrd.length : 0),
    initrd_copy(dst) {
      kernel().set(ctx.initrd, dst);
    },
    irq_init(address) {
      ctx.post({ kind: 'irq', address });
    },
    idle(address) {
      ctx.idle();
      Atomics.wait(new Int32Array(ctx.memory.buffer), address >> 2, 0);
    },
    console_write(vterm, buf, len) {
      ctx.writeConsole(vterm, kernel().slice(buf, buf + len));
    },
    console_read(vterm, buf, len) {
      const input = ctx.inputs[vterm];
      if (!input) return 0;
      const bytes = new Uint8Array(len);
      const count = readInput(input, bytes, len);
      kernel().set(bytes.subarray(0, count), buf);
      return count;
    },
    console_size(vterm) {
      if (vterm !== VT_CONSOLE) return 0;
      const [rows, columns] = ctx.windowSize;
      return ((rows & 0xffff) << 16 | (columns & 0xffff)) >>> 0;
    },
    clock_ns: () => (performance.timeOrigin + performance.now() - ctx.epoch) * 1e6,
    realtime_ms: () => Date.now(),
    timer_set(delayNs) {
      // Messages from different threads may arrive out of order: the time
      // of setting tells the machine which request is the latest.
      const setAt = performance.timeOrigin + performance.now();
      ctx.post({ kind: 'timer', setAt, deadline: setAt + delayNs / 1e6 });
    },
    exec_cached(keyAddress) {
      const program = ctx.modules.get(`file:${readCString(ctx.memory, keyAddress)}`);
      return program ? takeProgram(program) : -ENOENT;
    },
    exec_begin(size) {
      ctx.task.image = { bytes: new Uint8Array(size), length: 0 };
    },
    exec_chunk(buf, len) {
      ctx.task.image.bytes.set(kernel().subarray(buf, buf + len), ctx.task.image.length);
      ctx.task.image.length += len;
    },
    exec_load(keyAddress) {
      const { bytes } = ctx.task.image;
      ctx.task.image = null;
      const fileKey = `file:${readCString(ctx.memory, keyAddress)}`;
      try {
        // Each distinct program is compiled once per machine, whatever
        // file it comes from.
        const key = fingerprint(bytes);
        let program = ctx.modules.get(key);
        if (!program) {
          const rewritten = withPreemptionPoints(bytes);
          const module = new WebAssembly.Module(rewritten);
          if (codeProblem(rewritten)) return -ENOEXEC;
          program = { module, limits: memoryImport(bytes), size: bytes.length };
          remember(key, program);
        }
        remember(fileKey, program);
        return takeProgram(program);
      } catch {
        return -ENOEXEC;
      }
    },
    exec_instantiate() {
      const program = ctx.task.loaded;
      ctx.task.loaded = null;
      return program ? instantiateProgram(program) : -ENOEXEC;
    },
    exec_commit() {
      if (ctx.task.user) ctx.memories.release(ctx.task.user.memory);
      ctx.task.user = ctx.task.pending;
      ctx.task.pending = null;
      return ctx.task.user.instance.exports.__stack_pointer.value;
    },
    exec_start(sp) {
      ctx.task.next = { sp };
    },
    user_grow(size) {
      const { memory } = ctx.task.user;
      const missing = size - memory.buffer.byteLength;
      if (missing > 0) {
        try {
          memory.grow(Math.ceil(missing / WASM_PAGE));
        } catch {
          // At its maximum: report the size it has.
        }
      }
      return memory.buffer.byteLength;
    },
    user_max: () => ctx.task.user.maxBytes,
    user_sp: () => ctx.task.user.instance.exports.__stack_pointer.value,
    // The glue's user_call (glue.js) brackets a signal handler's call.
    user_call_begin(fn, sp) {
      const program = ctx.task.user.instance.exports;
      const handler = program.__indirect_function_table.get(fn);
      handlers().set(0, handler);
      ctx.task.kernelStacks.push({ kernel: kernelStack().value, user: program.__stack_pointer.value });
      program.__stack_pointer.value = sp;
      return handler ? handler.length : 0;
    },
    user_call_end() {
      const { user } = ctx.task.kernelStacks.pop();
      ctx.task.user.instance.exports.__stack_pointer.value = user;
    },
    user_call_unwind() {
      // A longjmp or trap out of the handler leaves the kernel frames
      // below this point: the kernel's stack is the enclosing level's.
      const stacks = ctx.task.kernelStacks;
      stacks.pop();
      kernelStack().value = stacks.length ? stacks.at(-1).kernel : ctx.task.kernelTop;
    },
    user_restart() {
      ctx.task.unwinding = new UserRestart();
      throw ctx.task.unwinding;
    },
    mmio_read: (address, size) => ctx.transport.read(address >>> 0, size),
    mmio_write(address, size, value) {
      ctx.transport.write(address >>> 0, size, value);
    },
    halt(status, message) {
      ctx.post({ kind: 'halt', status, message: readCString(ctx.memory, message) });
      throw new TaskExit();
    },
    backtrace: (buf, size) => writeCString(buf, size, traceText(new Error().stack ?? '', loadedCode)),
    fault_text(buf, size) {
      ctx.task.oops = true;
      return writeCString(buf, size, faultText(ctx.task.fault, loadedCode));
    },
    // Each returns the number of bytes NOT copied, as copy_*_user do.
    copy_from_user(to, from, n) {
      const u = userBytes();
      const ok = userSpan(from, n, u.length);
      kernel().set(u.subarray(from, from + ok), to);
      return n - ok;
    },
    copy_to_user(to, from, n) {
      const u = userBytes();
      const ok = userSpan(to, n, u.length);
      u.set(kernel().subarray(from, from + ok), to);
      return n - ok;
    },
    clear_user(to, n) {
      const u = userBytes();
      const ok = userSpan(to, n, u.length);
      u.fill(0, to, to + ok);
      return n - ok;
    },
    strncpy_from_user(dst, src, count) {
      const u = userBytes();
      if (src >= u.length) return -14; // -EFAULT
      let n = 0;
      while (n < count && src + n < u.length && u[src + n] !== 0) n++;
      if (n < count && src + n >= u.length) return -14;
      kernel().set(u.subarray(src, src + Math.min(n + 1, count)), dst);
      return n;
    },
    user_atomic_op(op, arg, old, uaddr) {
      const words = userWords(uaddr);
      if (!words) return -14;
      const index = uaddr >> 2;
      const value = [Atomics.exchange, Atomics.add, Atomics.or, Atomics.and, Atomics.xor][op](
        words, index, op === FUTEX_OP_ANDN ? ~arg : arg);
      new Int32Array(ctx.memory.buffer)[old >> 2] = value;
      return 0;
    },
    user_cmpxchg(old, uaddr, expected, value) {
      const words = userWords(uaddr);
      if (!words) return -14;
      new Int32Array(ctx.memory.buffer)[old >> 2] =
        Atomics.compareExchange(words, uaddr >> 2, expected | 0, value | 0);
      return 0;
    },
    strnlen_user(src, n) {
      const u = userBytes();
      for (let i = 0; i < n; i++) {
        if (src + i >= u.length) return 0;
        if (u[src + i] === 0) return i + 1;
      }
      return n + 1;
    },
  };
}
