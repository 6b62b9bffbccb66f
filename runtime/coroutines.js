// All tasks of a machine on one host thread, each a coroutine on a Wasm
// stack (stack-switching.js), over one instance of the kernel. Only one
// runs at a time, as on a one-CPU machine: a task runs until it calls
// task_switch (arch/wasm/kernel/process.c), which suspends its stack and
// resumes the next task's. Switching stacks costs a fraction of a microsecond;
// a host thread per task costs tens of milliseconds to start and megabytes
// to keep.
//
// A stack runs one task's pieces (task.js) in the loop of glue.js, and
// when the task exits, waits for the next new task: engines free a stack
// only in a garbage collection, and a fresh one per task, or per piece,
// made a process cost several times more.

import { TaskExit, instantiateKernel, newTaskState } from './abi.js';
import { PIECE } from './glue.js';
import { forkedProgram } from './fork.js';
import { createStackSwitching } from './stack-switching.js';
import { cloneProgram, endTask, isFault, taskPieces } from './task.js';

/**
 * One of the Wasm stacks that tasks run on.
 * @typedef {object} Stack
 * @property {number} id
 * @property {import('./abi.js').TaskState|null} task  the task it runs; null while parked
 * @property {number[]} args                          the arguments of its piece, left to take
 * @property {(() => void)|null} wake                 resumes it when parked
 */

/**
 * Boot the machine on this thread and run every task here until it halts.
 * @param {import('./abi.js').TaskContext} ctx
 */
export function runCoroutines(ctx) {
  /** @type {Map<number, {state: import('./abi.js').TaskState, resume: (() => void)|null}>} */
  const tasks = new Map();
  /** @type {Map<number, object>} clone and fork children's user programs, until they first run */
  const clones = new Map();
  /** @type {Stack[]} by id */
  const stacks = [];
  /** @type {Stack[]} parked, waiting for a task */
  const parked = [];

  /** Give a task a stack: a parked one, else a new one. */
  function startTask(task) {
    task.pieces = taskPieces(ctx, task);
    const stack = parked.pop();
    if (stack) {
      stack.task = task;
      stack.wake();
      return;
    }
    // Not from here: the new stack must not grow on top of the running one.
    queueMicrotask(() => runStack(task));
  }

  /** A new stack for the task; it ends only with an exception that ends the task. */
  async function runStack(task) {
    const stack = { id: stacks.length, task, args: [], wake: null };
    stacks.push(stack);
    try {
      await switching.run(stack.id);
    } catch (error) {
      stacks[stack.id] = null;
      const owner = stack.task;
      if (!owner) {
        ctx.post({ kind: 'trap', task: 0, name: '?', message: String(error.stack ?? error) });
      } else if (isFault(error) && owner.pieces) {
        // A trap ends the whole stack: the task goes on on a new one,
        // where its pieces learn of the fault.
        owner.thrown = error;
        runStack(owner);
      } else {
        endTask(ctx, owner, error);
      }
    }
  }

  /** Suspend the current task and resume (or start) next. */
  function taskSwitch(next, prevDead) {
    const prev = tasks.get(ctx.task.id);
    let target = tasks.get(next);
    if (!target) {
      target = { state: newTaskState(next, { clone: clones.get(next) ?? null }), resume: null };
      clones.delete(next);
      tasks.set(next, target);
      startTask(target.state);
    }
    ctx.task = target.state;
    if (target.resume) {
      const { resume } = target;
      target.resume = null;
      resume();
    }
    if (prevDead) {
      tasks.delete(prev.state.id);
      prev.state.unwinding = new TaskExit();
      throw prev.state.unwinding;
    }
    return new Promise((resolve) => {
      prev.resume = resolve;
    });
  }

  const switching = createStackSwitching({
    taskSwitch,
    park(id) {
      const stack = stacks[id];
      parked.push(stack);
      return new Promise((resolve) => {
        stack.wake = resolve;
      });
    },
    next(id, result) {
      const stack = stacks[id];
      const { task } = stack;
      if (!task) return PIECE.park;
      ctx.task = task;
      let step;
      try {
        const { thrown } = task;
        task.thrown = null;
        step = thrown ? task.pieces.throw(thrown) : task.pieces.next(result);
      } catch (error) {
        task.pieces = null;
        throw error;
      }
      const { fn, shape, args } = step.value;
      switching.entries.set(0, fn);
      stack.args = args;
      return PIECE[shape];
    },
    arg: (id) => stacks[id].args.shift(),
    unwound(id) {
      const stack = stacks[id];
      const task = stack.task;
      const error = task.unwinding;
      task.unwinding = null;
      if (error instanceof TaskExit) {
        // The task is over: its stack is free for the next one.
        endTask(ctx, task, error);
        stack.task = null;
        return 0;
      }
      if (!error) return 1;
      task.thrown = error;
      return 0;
    },
  });

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
      clones.set(task, cloneProgram(ctx.task.user, sp));
    },
    user_fork(task) {
      const child = forkedProgram(ctx);
      if (typeof child === 'number') return child;
      clones.set(task, { ...child, held: true });
      return 0;
    },
    user_forget(task) {
      const child = clones.get(task);
      if (child?.held) ctx.memories.release(child.memory);
      clones.delete(task);
    },
  });
  const boot = newTaskState(ctx.kernel.exports.init_task(), { boot: true });
  tasks.set(boot.id, { state: boot, resume: null });
  ctx.task = boot;
  boot.pieces = taskPieces(ctx, boot);
  runStack(boot);
}
