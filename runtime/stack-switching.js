// JavaScript Promise Integration (JSPI), the engine feature that lets a
// Wasm call stack wait for a promise and resume later: what makes a task a
// coroutine (coroutines.js). Only the standard API (WebAssembly.Suspending
// and promising: Chrome 137, Node 24 with a flag). The first version, in
// Node 20 and 22, keeps about 100 bytes per suspension for as long as the
// stack's call lasts, and a task's stack lasts as long as the task: there
// each task gets a host thread instead.

import { TASK_GLUE } from './glue.js';

/** Whether this engine can suspend Wasm stacks. */
export function canSwitchStacks() {
  return typeof WebAssembly.Suspending === 'function';
}

/**
 * What the host does for the stacks (coroutines.js); see glue.js's TASK_GLUE.
 * @typedef {object} StackHost
 * @property {(next: number, prevDead: number) => Promise<void>} taskSwitch
 *   suspends the running stack until the promise it returns settles
 * @property {(stack: number) => Promise<void>} park  suspends an idle stack until it has a task
 * @property {(stack: number, result: number) => number} next  the stack's next piece (glue.js PIECE)
 * @property {(stack: number) => number} arg       the piece's next argument
 * @property {(stack: number) => number} unwound   after an exception: 1 to let it go on
 */

/**
 * @typedef {object} StackSwitching
 * @property {Function} taskSwitch          the kernel's task_switch import
 * @property {WebAssembly.Table} entries    slot 0: the function of a stack's next piece
 * @property {(stack: number) => Promise<void>} run  start a stack; its promise settles only
 *                                          if an exception ends it
 */

/** @param {StackHost} host @returns {StackSwitching} */
export function createStackSwitching(host) {
  const glue = new WebAssembly.Instance(new WebAssembly.Module(TASK_GLUE), {
    host: {
      task_next: host.next,
      task_arg: host.arg,
      task_unwound: host.unwound,
      task_park: new WebAssembly.Suspending(host.park),
    },
  });
  return {
    taskSwitch: new WebAssembly.Suspending(host.taskSwitch),
    entries: glue.exports.entries,
    run: WebAssembly.promising(glue.exports.run),
  };
}
