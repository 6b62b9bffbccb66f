// One kernel task on one host thread: instantiate the kernel module over the
// shared memory, enter it (boot or a new task's first run), and report how
// the thread ended. Environment-neutral: the platform's worker script
// passes the start data and the two ways out (post, writeConsole).

import { TaskExit, kernelImports } from './abi.js';

/**
 * @typedef {object} TaskStart
 * @property {WebAssembly.Module} module
 * @property {WebAssembly.Memory} memory
 * @property {number} epoch
 * @property {string} cmdline
 * @property {Uint8Array|null} initrd   boot thread only
 * @property {number} task              task_struct address; 0 for the boot thread
 */

/**
 * Run a task until its thread ends. Traps are reported, never thrown.
 * @param {TaskStart} start
 * @param {(message: object) => void} post
 * @param {(bytes: Uint8Array) => void} writeConsole
 */
export function runTask(start, post, writeConsole) {
  const ctx = {
    memory: start.memory,
    epoch: start.epoch,
    cmdline: start.cmdline,
    initrd: start.initrd,
    post,
    writeConsole,
    user: null,
  };
  try {
    const kernel = new WebAssembly.Instance(start.module, {
      env: { memory: start.memory },
      host: kernelImports(ctx),
    });
    if (start.task === 0) kernel.exports.boot();
    else kernel.exports.task_entry(start.task);
    // Back from the kernel on the way to user space: no user programs yet.
    post({ kind: 'trap', task: start.task, message: 'return to user space is not supported yet' });
  } catch (error) {
    if (error instanceof TaskExit) {
      post({ kind: 'exit', task: start.task });
      return;
    }
    post({ kind: 'trap', task: start.task, message: String(error && error.stack ? error.stack : error) });
  }
}
