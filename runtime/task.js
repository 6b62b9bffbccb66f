// A task's life on the host: its kernel entry, then its user programs
// until it exits, as a sequence of calls into Wasm ("pieces"). The same
// whether the task is a coroutine (coroutines.js runs the pieces) or has a
// host thread of its own (liveTask here runs them).

import { TaskExit, readCString } from './abi.js';
import { START, programImports, runProgram, startForkChild } from './fork.js';
import { NR_EXIT, NR_EXIT_GROUP, SIGILL, SIGSEGV, UserRestart, WASM_PAGE } from './user-abi.js';

/**
 * Make the kernel instance the task's again: the imports' task, and the
 * kernel's `current` and stack pointer (arch/wasm/kernel/entry.c). Before
 * each piece of the task's life that starts from the host, since other
 * tasks may have run on the instance meanwhile.
 * @param {import('./abi.js').TaskContext} ctx
 * @param {import('./abi.js').TaskState} task
 */
function enterTask(ctx, task) {
  ctx.task = task;
  task.kernelTop = ctx.kernel.exports.user_enter(task.id);
  task.kernelStacks = [];
}

/**
 * What a clone child gets of its parent's program: all but the instance,
 * which is the parent's own.
 * @param {import('./abi.js').UserProgram} program
 * @param {number} sp  the child's stack
 */
export const cloneProgram = ({ instance, ...shared }, sp) => ({ ...shared, sp });

/**
 * One call into Wasm of a task's life, with its function's type (glue.js
 * PIECE) and its arguments; a syscall piece gets the number and one argument.
 * @typedef {{fn: Function, shape: 'v'|'i'|'i_i'|'syscall', args: number[]}} Piece
 */

/** @returns {Piece} */
const piece = (fn, shape, ...args) => ({ fn, shape, args });

/**
 * The user program a task starts on its way back to user space: an exec'd
 * program at its entry, a clone child's function, or a fork child where
 * its parent's fork call is; then the exit, should the program return.
 * Ends through an exception only.
 * @param {import('./abi.js').TaskContext} ctx
 * @param {import('./abi.js').TaskState} task
 * @returns {Generator<Piece, never, number>}
 */
function* userPieces(ctx, task) {
  enterTask(ctx, task);
  const next = task.next;
  task.next = null;
  task.fork = null;
  if (!next) throw new Error('return to user space without a program');
  let entry = START;
  if (next.clone) {
    // The parent's program, in its memory (a clone) or a copy of it (a fork).
    const { sp, fork, held, ...program } = next.clone;
    const { module, memory } = program;
    if (!held) ctx.memories.hold(memory, program.maxBytes / WASM_PAGE);
    const instance = new WebAssembly.Instance(module, programImports(ctx, memory));
    task.user = { ...program, instance };
    if (fork) {
      entry = startForkChild(task, fork);
    } else {
      const [fn, arg] = new Uint32Array(memory.buffer, sp, 2);
      instance.exports.__stack_pointer.value = sp;
      entry = { fn, arg };
    }
  } else {
    task.user.instance.exports.__stack_pointer.value = next.sp;
  }
  const status = yield* runProgram(ctx, task, entry, enterTask);
  enterTask(ctx, task);
  if (entry.start) yield piece(ctx.kernel.exports.syscall, 'syscall', NR_EXIT_GROUP, 0);
  else yield piece(ctx.kernel.exports.syscall, 'syscall', NR_EXIT, status);
  throw new Error('the exit system call returned');
}

/** The engine's error for a call stack too deep ("Maximum call stack size exceeded"). */
const isStackOverflow = (error) => error instanceof RangeError && /call stack/i.test(error.message);

/** A fault of the user program: a Wasm trap, or a stack overflow. */
export const isFault = (error) => error instanceof WebAssembly.RuntimeError || isStackOverflow(error);

/**
 * The most traps of one task the kernel is asked about, each while the
 * last is handled: a handler of SIGILL that traps into SIGSEGV, whose
 * handler traps into the blocked SIGILL, which kills, takes three. More
 * means the kernel's own handling traps.
 */
const MAX_NESTED_FAULTS = 4;

/** The signal a native CPU fault would give for this one. */
function faultSignal(error) {
  if (isStackOverflow(error)) return SIGSEGV;
  return /out of bounds|misaligned/.test(String(error.message)) ? SIGSEGV : SIGILL;
}

/**
 * A task's life as the calls into Wasm it makes, from its kernel entry to
 * its exit: the kernel part, then its user programs one after the other.
 * Whoever runs the pieces throws back in what one of them threw: an exec
 * ends a program with UserRestart; a program that traps gets SIGILL or
 * SIGSEGV, which normally ends the task (and the kernel tells the parent);
 * a trap in the kernel or a module is an oops, which ends the task too.
 * Anything else ends the task's pieces with that exception; the task
 * leaves for good with TaskExit, from its last piece.
 * @param {import('./abi.js').TaskContext} ctx
 * @param {import('./abi.js').TaskState} task
 * @returns {Generator<Piece, never, number>}
 */
export function* taskPieces(ctx, task) {
  const { exports } = ctx.kernel;
  let entered = false;
  let fault = null;
  let faults = 0;
  for (;;) {
    try {
      if (!entered) {
        entered = true;
        yield task.boot ? piece(exports.boot, 'v') : piece(exports.task_entry, 'i', task.id);
      }
      if (fault) {
        // The kernel knows whether the trap was its own (an oops) or the
        // program's; a program's signal handler may trap in turn.
        enterTask(ctx, task);
        task.fault = fault;
        fault = null;
        yield piece(exports.fault, 'i', faultSignal(task.fault));
        throw new Error(`the task survived a trap: ${task.fault.message}`);
      }
      yield* userPieces(ctx, task);
    } catch (error) {
      // The exception left kernel frames behind: the next piece starts
      // at the top of the task's kernel stack again (enterTask).
      if (error instanceof UserRestart) continue;
      if (!isFault(error)) throw error;
      // A trap after the kernel began an oops, or in its handling of
      // traps: nothing is left to trust.
      if (task.oops || ++faults > MAX_NESTED_FAULTS) throw error;
      fault = error;
    }
  }
}

/**
 * The end of a task, by the exception that ended its pieces: reported to
 * the machine as an exit (TaskExit) or a trap.
 * @param {import('./abi.js').TaskContext} ctx
 * @param {import('./abi.js').TaskState} task
 * @param {unknown} error
 */
export function endTask(ctx, task, error) {
  // A finished task must not keep its program and memory alive.
  for (const program of [task.user, task.pending]) {
    if (program) ctx.memories.release(program.memory);
  }
  Object.assign(task, { user: null, pending: null, image: null, next: null, pieces: null, fault: null, oops: false });
  if (error instanceof TaskExit) {
    ctx.post({ kind: 'exit', task: task.id });
    return;
  }
  // Naming the task only reads kernel memory: safe even after a trap.
  const name = readCString(ctx.memory, ctx.kernel.exports.current_comm());
  ctx.post({ kind: 'trap', task: task.id, name, message: String(error && error.stack ? error.stack : error) });
}

/**
 * Run a task to its end on this thread, a task per thread: each piece is
 * a plain call from here, and what it throws goes back into the task's
 * pieces. Never throws: the end is reported to the machine.
 * @param {import('./abi.js').TaskContext} ctx
 * @param {import('./abi.js').TaskState} task
 */
export function liveTask(ctx, task) {
  ctx.task = task;
  const pieces = taskPieces(ctx, task);
  try {
    let step = pieces.next();
    for (;;) {
      let result;
      try {
        result = callPiece(step.value);
      } catch (error) {
        task.unwinding = null;
        step = pieces.throw(error);
        continue;
      }
      step = pieces.next(result);
    }
  } catch (error) {
    endTask(ctx, task, error);
  }
}

/** @param {Piece} piece */
function callPiece({ fn, shape, args }) {
  if (shape === 'syscall') return fn(args[0], BigInt(args[1]), 0n, 0n, 0n, 0n, 0n);
  return fn(...args);
}
