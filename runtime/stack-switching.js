// JavaScript Promise Integration (JSPI), the engine feature that lets a
// Wasm call stack wait for a promise and resume later: what makes a task a
// coroutine (coroutines.js). Two versions of the API exist; this module
// gives both the same two functions.

import { SUSPENDER_GLUE } from './glue.js';

/** Whether this engine can suspend Wasm stacks. */
export function canSwitchStacks() {
  return typeof WebAssembly.Suspending === 'function' || typeof WebAssembly.Suspender === 'function';
}

/**
 * @typedef {object} StackSwitching
 * @property {Function} taskSwitch  the kernel's task_switch import
 * @property {(fn: Function, shape: string) => (...args: any[]) => Promise<any>} promising
 *   a Wasm function called on a new stack that may suspend; its promise
 *   settles when the call returns or throws. shape names the function's
 *   type: 'v' () -> (), 'i' (i32) -> (), 'i_i' (i32) -> i32, 'syscall' the
 *   kernel's system call export.
 */

/**
 * @param {(next: number, prevDead: number) => Promise<void>} taskSwitch
 *   suspends the current stack until the promise it returns settles
 * @returns {StackSwitching}
 */
export function createStackSwitching(taskSwitch) {
  if (typeof WebAssembly.Suspending === 'function') {
    const wrapped = new WeakMap();
    return {
      taskSwitch: new WebAssembly.Suspending(taskSwitch),
      promising(fn) {
        let promising = wrapped.get(fn);
        if (!promising) {
          promising = WebAssembly.promising(fn);
          wrapped.set(fn, promising);
        }
        return promising;
      },
    };
  }
  // The first version (V8 11, Node 20): the suspender is a parameter of
  // both ends, which glue.js passes along for code that cannot.
  const suspending = new WebAssembly.Function({ parameters: ['externref', 'i32', 'i32'], results: [] },
    taskSwitch, { suspending: 'first' });
  const glue = new WebAssembly.Instance(new WebAssembly.Module(SUSPENDER_GLUE), {
    host: { task_switch: suspending },
  });
  const entry = (name, parameters) => new WebAssembly.Function({ parameters, results: ['externref'] },
    glue.exports[name], { promising: 'first' });
  const entries = {
    v: entry('enter_v', []),
    i: entry('enter_i', ['i32']),
    i_i: entry('enter_i_i', ['i32']),
    syscall: entry('enter_syscall', ['i32', 'i64', 'i64', 'i64', 'i64', 'i64', 'i64']),
  };
  const table = glue.exports.entries;
  return {
    taskSwitch: glue.exports.task_switch,
    promising: (fn, shape) => (...args) => {
      table.set(0, fn);
      return entries[shape](...args);
    },
  };
}
