// A machine: the shared kernel memory, the compiled kernel, and the host
// threads that run its tasks: one for all of them where the engine can
// switch stacks (coroutines.js), one per task otherwise (thread.js).
// Environment-neutral; a platform adapter creates the threads (Node
// worker_threads, browser Web Workers).

import { IRQ_AGENT, IRQ_CONSOLE, IRQ_RESIZE, IRQ_TIMER, VT_AGENT, VT_CONSOLE } from './abi.js';
import { createInputRing, writeInput } from './console-input.js';
import { FORGOTTEN_BYTES_PER_COLLECTION } from './memories.js';
import { ProgramCache } from './program-cache.js';
import { PREEMPT_FLAG } from './preempt.js';
import { WASM_PAGE } from './user-abi.js';
import { Bus } from './virtio/bus.js';

/**
 * A host thread that runs tasks. It is sent {kind: 'machine', machine} once
 * (what all tasks share) and then {kind: 'task', start} for each task to
 * run (see thread.js); it reports through onMessage until each task ends.
 * @typedef {{post(start: object): void, terminate(): void}} HostThread
 */

/**
 * @typedef {object} Platform
 * @property {(onMessage: (message: object) => void, onError: (error: Error) => void) => HostThread} createThread
 * @property {boolean} coroutines  whether its threads can switch Wasm stacks (stack-switching.js)
 * @property {() => void} [collectGarbage]  run the main thread's garbage collector, if the platform can
 * @property {string} [timeZone]  the host's time zone by its tz database name ("Europe/Paris"), if known
 */

/*
 * Without coroutines: starting a host thread costs milliseconds (a new
 * engine isolate), and the boot alone starts a dozen kernel threads.
 * Threads are started ahead, while the kernel boots, and a thread whose
 * task ended waits for the next task.
 */
const POOL_START = 12;
const POOL_MAX = 16;

/**
 * How often (in program memories forgotten, or their bytes) to ask the
 * platform to collect garbage: this thread's copies keep their address
 * space and pages (memories.js) until then, and it allocates too little
 * for its collector to run by itself.
 */
const GC_EVERY_FORGOTTEN = 64;

/** What the host calls in the kernel (arch/wasm/kernel/entry.c, syscall.c, traps.c). */
const KERNEL_EXPORTS = ['boot', 'task_entry', 'init_task', 'user_enter', 'syscall', 'fault', 'current_comm'];

/** Each terminal's input ring size and interrupt line, by vterm number. */
const TERMINALS = [
  { vterm: VT_CONSOLE, ringSize: 4096, irq: IRQ_CONSOLE },
  // Files pass through the agent channel: a larger ring.
  { vterm: VT_AGENT, ringSize: 65536, irq: IRQ_AGENT },
];

/**
 * @typedef {object} MachineOptions
 * @property {BufferSource|WebAssembly.Module} kernel  vmlinux.wasm, its bytes or compiled
 * @property {Uint8Array|null} initrd   the initramfs (cpio, may be gzipped)
 * @property {string} cmdline
 * @property {number} memoryMiB         kernel memory size
 * @property {number} timeoutMs         0 for none
 * @property {object[]} [devices]       virtio device models, in bus order (virtio/bus.js)
 * @property {object} [bus]             or a bus of them elsewhere, with Bus's interface (browser/devices.js)
 */

/**
 * The command line with the host's time zone added for the guest's init
 * (system/init.c makes /etc/localtime of it), unless it names one already.
 * @param {string} cmdline @param {string} [zone]
 */
export function withHostZone(cmdline, zone) {
  if (/(^| )linuxwasm\.tz=/.test(cmdline)) return cmdline;
  return zone && /^[A-Za-z0-9_+\-/]+$/.test(zone) ? `${cmdline} linuxwasm.tz=${zone}` : cmdline;
}

/** The result of a run: 0 on power-off, non-zero with a reason otherwise. */
export class MachineExit {
  /** @param {number} status @param {string} reason */
  constructor(status, reason) {
    this.status = status;
    this.reason = reason;
  }
}

export class Machine {
  /** @param {Platform} platform @param {MachineOptions} options */
  constructor(platform, options) {
    this.platform = platform;
    this.options = options;
    /** @type {Map<number, HostThread>} running tasks' threads */
    this.threads = new Map();
    /** @type {HostThread[]} idle threads */
    this.pool = [];
    /** @type {Map<number, object>} user programs of clone and fork children not started yet */
    this.clones = new Map();
    /** @type {Map<string, object>} every program compiled so far, by fingerprint and file key (abi.js) */
    this.modules = new ProgramCache();
    /** @type {Map<HostThread, Map<number, Int32Array>>} the preemption flag of each thread's program memories, by id (memories.js) */
    this.memories = new Map();
    this.forgotten = 0;
    this.forgottenBytes = 0;
    /** @type {Set<number>} clone children to start once their program arrives */
    this.waitingForClone = new Set();
    this.irqIndex = -1;
    this.pendingIrqs = 0;
    this.timer = null;
    this.timerSetAt = -Infinity;
    this.inputs = TERMINALS.map((t) => createInputRing(t.ringSize));
    /** The console's [rows, columns], read by the kernel on IRQ_RESIZE. */
    this.windowSize = new Int32Array(new SharedArrayBuffer(8));
    /** @type {Uint8Array[][]} each terminal's input that did not fit in its ring yet */
    this.inputBacklogs = TERMINALS.map(() => []);
    this.inputRetry = TERMINALS.map(() => null);
    this.finished = false;
    /** The virtio devices, here or on a thread of their own (browser/devices.js). */
    this.bus = options.bus ?? new Bus(options.devices ?? []);
    this.bus.connect((irq) => this.raise(1 << irq), (reason) => this.finish(2, reason));
  }

  /** Boot and run until power-off, panic, trap or timeout. @returns {Promise<MachineExit>} */
  async run() {
    const { kernel, memoryMiB } = this.options;
    let module;
    try {
      module = kernel instanceof WebAssembly.Module ? kernel : await WebAssembly.compile(kernel);
    } catch (error) {
      return new MachineExit(2, `not a valid kernel image: ${error.message}`);
    }
    const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    const missing = KERNEL_EXPORTS.filter((name) => !exports.has(name));
    if (missing.length) return new MachineExit(2, `not a valid kernel image: no export ${missing.join(', ')}`);
    const pages = Math.ceil((memoryMiB * 1024 * 1024) / WASM_PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.words = new Int32Array(this.memory.buffer);
    this.bus.attach(this.memory);
    this.epoch = performance.timeOrigin + performance.now();
    /** What every task thread gets once (task.js, MachineShared). */
    this.shared = {
      module, memory: this.memory, coroutines: this.platform.coroutines, epoch: this.epoch,
      cmdline: withHostZone(`${this.options.cmdline} ${this.bus.cmdline}`.trim(), this.platform.timeZone),
      inputs: this.inputs, windowSize: this.windowSize, devices: this.bus.buffers,
    };

    return new Promise((resolve) => {
      this.resolve = resolve;
      if (this.options.timeoutMs > 0) {
        this.deadline = setTimeout(() => this.finish(124, `timed out after ${this.options.timeoutMs / 1000} s`),
          this.options.timeoutMs);
      }
      this.spawn(0);
      if (!this.platform.coroutines) {
        for (let i = 0; i < POOL_START; i++) this.pool.push(this.createThread());
      }
    });
  }

  createThread() {
    const thread = this.platform.createThread((message) => this.onMessage(message, thread),
      (error) => this.finish(3, `a host thread failed: ${error.message}`));
    thread.post({ kind: 'machine', machine: this.shared });
    return thread;
  }

  /** Start the host thread of a task (0: the boot thread, which becomes idle). */
  spawn(task) {
    const start = {
      task,
      initrd: task === 0 ? this.options.initrd : null,
      user: this.clones.get(task) ?? null,
      modules: this.modules.entries,
    };
    this.clones.delete(task);
    const thread = this.pool.pop() ?? this.createThread();
    thread.post({ kind: 'task', start });
    this.threads.set(task, thread);
  }

  /**
   * @param {object} message
   * @param {HostThread} thread  the thread that sent it
   */
  onMessage(message, thread) {
    if (this.finished) return;
    switch (message.kind) {
      case 'spawn':
        // The clone message comes from the parent's thread, the spawn
        // message from whichever thread first switches to the child:
        // they may arrive in either order.
        if (message.user && !this.clones.has(message.task)) this.waitingForClone.add(message.task);
        else this.spawn(message.task);
        break;
      case 'memory':
        if (!this.memories.has(thread)) this.memories.set(thread, new Map());
        // A shared memory's buffer stays valid as the memory grows.
        this.memories.get(thread).set(message.id, new Int32Array(message.memory.buffer, PREEMPT_FLAG, 1));
        break;
      case 'forget':
        this.memories.get(thread).delete(message.id);
        this.forgottenBytes += message.bytes;
        if (++this.forgotten % GC_EVERY_FORGOTTEN === 0 || this.forgottenBytes >= FORGOTTEN_BYTES_PER_COLLECTION) {
          this.forgottenBytes = 0;
          this.platform.collectGarbage?.();
        }
        break;
      case 'module':
        this.modules.set(message.key, message.program);
        break;
      case 'clone':
        this.clones.set(message.task, message.user);
        if (this.waitingForClone.delete(message.task)) this.spawn(message.task);
        break;
      case 'forget-clone':
        this.clones.delete(message.task);
        this.waitingForClone.delete(message.task);
        break;
      case 'exit':
        if (!this.platform.coroutines) this.threadFree(message.task, thread);
        break;
      case 'irq':
        this.irqIndex = message.address >> 2;
        this.raise(0);
        break;
      case 'timer':
        if (message.setAt < this.timerSetAt) break;
        this.timerSetAt = message.setAt;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.raise(1 << IRQ_TIMER),
          Math.max(0, message.deadline - (performance.timeOrigin + performance.now())));
        break;
      case 'halt':
        this.finish(message.status, message.status === 0 ? message.message : `kernel panic: ${message.message.trim()}`);
        break;
      case 'virtio':
        this.bus.handle(message);
        break;
      case 'trap':
        this.finish(2, `trap in task ${message.name}: ${message.message}`);
        break;
      default:
        this.finish(3, `unknown message from a task thread: ${JSON.stringify(message)}`);
    }
  }

  /** A task's own thread is free: it waits in the pool for the next task. */
  threadFree(task, thread) {
    // The task's memory may already hold a new task, whose spawn message,
    // from another thread, may have come first: the map entry is this
    // thread's only if it still points at it.
    if (this.threads.get(task) === thread) this.threads.delete(task);
    if (this.pool.length < POOL_MAX) {
      this.pool.push(thread);
      return;
    }
    thread.terminate();
    this.memories.delete(thread);
  }

  /**
   * Input for a terminal of the guest (keys or a pipe's bytes for the
   * console, requests for the agent), in order. What does not fit in the
   * ring waits until the guest has read some.
   * @param {Uint8Array} data
   * @param {number} vterm
   */
  typeInput(data, vterm = VT_CONSOLE) {
    if (this.finished) return;
    this.inputBacklogs[vterm].push(data);
    this.flushInput(vterm);
  }

  /** @param {number} vterm */
  flushInput(vterm) {
    const backlog = this.inputBacklogs[vterm];
    while (backlog.length) {
      const data = backlog[0];
      const taken = writeInput(this.inputs[vterm], data);
      if (taken < data.length) {
        backlog[0] = data.subarray(taken);
        clearTimeout(this.inputRetry[vterm]);
        this.inputRetry[vterm] = setTimeout(() => this.flushInput(vterm), 1);
        break;
      }
      backlog.shift();
    }
    this.raise(1 << TERMINALS[vterm].irq);
  }

  /**
   * The console's window size, as the host's terminal has it; the guest
   * gets SIGWINCH. Before boot it only sets the size the console starts with.
   * @param {number} rows
   * @param {number} columns
   */
  resize(rows, columns) {
    Atomics.store(this.windowSize, 0, rows);
    Atomics.store(this.windowSize, 1, columns);
    this.raise(1 << IRQ_RESIZE);
  }

  /**
   * Set interrupt bits for the CPU and wake it if it sleeps in idle. If a
   * program holds the CPU in a loop, its next iteration yields it
   * (preempt.js): every program's flag is set, which costs the others one
   * needless sched_yield() at most.
   */
  raise(bits) {
    this.pendingIrqs |= bits;
    if (this.irqIndex < 0 || this.pendingIrqs === 0) return;
    Atomics.or(this.words, this.irqIndex, this.pendingIrqs);
    this.pendingIrqs = 0;
    Atomics.notify(this.words, this.irqIndex);
    for (const flags of this.memories.values()) {
      for (const flag of flags.values()) Atomics.store(flag, 0, 1);
    }
  }

  finish(status, reason) {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    this.inputRetry.forEach(clearTimeout);
    for (const thread of [...this.threads.values(), ...this.pool]) thread.terminate();
    this.threads.clear();
    this.pool = [];
    this.bus.close();
    this.resolve(new MachineExit(status, reason));
  }
}
