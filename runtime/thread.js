// What a host thread runs: a task until it ends, where each task has a
// thread of its own, or the whole machine, where the engine can switch
// stacks (arch/wasm/kernel/process.c). Environment-neutral: the platform's
// worker script passes what it is sent and the two ways out.

import { TaskExit, instantiateKernel, newTaskState } from './abi.js';
import { runCoroutines } from './coroutines.js';
import { ProgramMemories } from './memories.js';
import { ProgramCache } from './program-cache.js';
import { forkedProgram } from './fork.js';
import { cloneProgram, liveTask } from './task.js';
import { Transport } from './virtio/transport.js';

/**
 * What every task of a machine shares.
 * @typedef {object} MachineShared
 * @property {WebAssembly.Module} module  the kernel
 * @property {WebAssembly.Memory} memory  the kernel's memory
 * @property {boolean} coroutines         all tasks on one thread (the engine can switch stacks)
 * @property {number} epoch
 * @property {string} cmdline
 * @property {SharedArrayBuffer[]} inputs  input of each terminal, by vterm number (console-input.js)
 * @property {Int32Array} windowSize      the console's [rows, columns], 0 if unknown
 * @property {SharedArrayBuffer[]} devices  each virtio device's registers, in bus order (virtio/registers.js)
 */

/**
 * One task to run.
 * @typedef {object} TaskStart
 * @property {number} task              task_struct address; 0 for the boot thread
 * @property {Uint8Array|null} initrd   boot thread only
 * @property {object|null} user         a clone or fork child's user program (task.js cloneProgram, fork.js forkedProgram)
 * @property {Map<string, object>} modules  programs compiled so far (abi.js CompiledProgram), by key
 */

/**
 * Unused program memories kept for the next programs, where all tasks run
 * on this thread (memories.js); each keeps the pages its last program
 * touched, a few hundred KiB for most.
 */
const MEMORY_POOL = 8;

/**
 * This thread's part of a machine. In thread mode the thread keeps one
 * kernel instance for task after task (a task's entry sets `current` and
 * the stack pointer); making a new one would cost most of a millisecond
 * and memory the engine is slow to give back.
 * @param {MachineShared} machine
 * @param {(message: object) => void} post
 * @param {(vterm: number, bytes: Uint8Array) => void} writeConsole
 * @param {() => void} idle  called when the CPU has nothing to run
 */
export function prepareThread(machine, post, writeConsole, idle = () => {}) {
  const ctx = {
    module: machine.module,
    coroutines: machine.coroutines,
    memory: machine.memory,
    epoch: machine.epoch,
    cmdline: machine.cmdline,
    inputs: machine.inputs,
    windowSize: machine.windowSize,
    transport: new Transport(machine.devices, post),
    initrd: null,
    modules: new ProgramCache(),
    post,
    writeConsole,
    idle,
    memories: new ProgramMemories(post, machine.coroutines ? MEMORY_POOL : 0),
    kernel: null,
    task: null,
  };
  if (!machine.coroutines) {
    ctx.kernel = instantiateKernel(machine.module, ctx, {
      coroutines: () => 0,
      task_switch() {
        throw new Error('task_switch without coroutines');
      },
      task_spawn(task, user) {
        post({ kind: 'spawn', task, user: user !== 0 });
      },
      task_exit() {
        throw new TaskExit();
      },
      user_clone(task, sp) {
        post({ kind: 'clone', task, user: cloneProgram(ctx.task.user, sp) });
      },
      user_fork(task) {
        const child = forkedProgram(ctx);
        if (typeof child === 'number') return child;
        // The child's thread holds the copy; this one lets go of it.
        post({ kind: 'clone', task, user: child });
        ctx.memories.release(child.memory);
        return 0;
      },
      user_forget(task) {
        post({ kind: 'forget-clone', task });
      },
    });
  }
  return ctx;
}

/**
 * Run a task: in thread mode, one task until it ends; with coroutines, the
 * boot task, and with it every other task, until the machine halts.
 * @param {ReturnType<typeof prepareThread>} ctx
 * @param {TaskStart} start
 */
export function runTask(ctx, start) {
  ctx.initrd = start.initrd;
  ctx.modules = new ProgramCache(start.modules);
  if (ctx.coroutines) {
    runCoroutines(ctx);
    return;
  }
  liveTask(ctx, newTaskState(start.task, { boot: start.task === 0, clone: start.user }));
}
