// All tasks of a machine on one host thread, each a coroutine with a Wasm
// stack of its own (stack-switching.js), over one instance of the kernel.
// Only one runs at a time, as on a one-CPU machine: a task runs until it
// calls task_switch (arch/wasm/kernel/process.c), which suspends its stack
// and resumes the next task's. Switching stacks costs about a microsecond;
// a host thread per task costs tens of milliseconds to start and megabytes
// to keep.

import { TaskExit, instantiateKernel, newTaskState } from './abi.js';
import { createStackSwitching } from './stack-switching.js';
import { liveTask } from './task.js';

/**
 * Boot the machine on this thread and run every task here until it halts.
 * @param {import('./abi.js').TaskContext} ctx
 */
export function runCoroutines(ctx) {
  /** @type {Map<number, {state: import('./abi.js').TaskState, resume: (() => void)|null}>} */
  const tasks = new Map();
  /** @type {Map<number, object>} clone children's user programs, until they first run */
  const clones = new Map();

  /** Suspend the current task and resume (or start) next. */
  function taskSwitch(next, prevDead) {
    const prev = tasks.get(ctx.task.id);
    let target = tasks.get(next);
    if (!target) {
      target = { state: newTaskState(next, { clone: clones.get(next) ?? null }), resume: null };
      clones.delete(next);
      tasks.set(next, target);
      // Not from here: the new stack must not grow on top of prev's.
      queueMicrotask(() => liveTask(ctx, target.state, call));
    }
    ctx.task = target.state;
    if (target.resume) {
      const { resume } = target;
      target.resume = null;
      resume();
    }
    if (prevDead) {
      tasks.delete(prev.state.id);
      throw new TaskExit();
    }
    return new Promise((resolve) => {
      prev.resume = resolve;
    });
  }

  const switching = createStackSwitching(taskSwitch);
  const call = (fn, shape, ...args) => switching.promising(fn, shape)(...args);
  ctx.kernel = instantiateKernel(ctx.module, ctx, {
    coroutines: () => 1,
    task_switch: switching.taskSwitch,
    task_spawn() {
      throw new Error('task_spawn with coroutines');
    },
    task_exit() {
      throw new Error('task_exit with coroutines');
    },
    user_clone(task, sp) {
      const { module, memory, maxBytes } = ctx.task.user;
      clones.set(task, { module, memory, maxBytes, sp });
    },
  });
  const boot = newTaskState(ctx.kernel.exports.init_task(), { boot: true });
  tasks.set(boot.id, { state: boot, resume: null });
  liveTask(ctx, boot, call);
}
