// Small Wasm modules of the host. Most sit between the kernel and the host
// where a JavaScript frame must not: a task suspends its whole call stack
// when it hands over the CPU (coroutines.js), and engines refuse to suspend
// a stack with JavaScript frames on it. Written out here byte by byte,
// since they are tiny and a build step for them would be larger than they are.

import { encodeU32 as uleb } from './wasm-binary.js';

const I32 = 0x7f;
const I64 = 0x7e;
const FUNCREF = 0x70;
const EMPTY_BLOCK = 0x40;

const op = {
  loop: 0x03, if: 0x04, else: 0x05, try: 0x06, rethrow: 0x09, end: 0x0b, br: 0x0c,
  call: 0x10, callIndirect: 0x11, localGet: 0x20, localSet: 0x21, localTee: 0x22,
  globalGet: 0x23, globalSet: 0x24, i32Const: 0x41, i64Const: 0x42, i32Eqz: 0x45, i32Eq: 0x46,
  i64ExtendI32S: 0xac, catchAll: 0x19, memoryFill: [0xfc, 0x0b],
};

const vector = (items) => [...uleb(items.length), ...items.flat()];
const name = (text) => vector([...new TextEncoder().encode(text)]);
const section = (id, items) => (items.length ? [id, ...uleb(vector(items).length), ...vector(items)] : []);

/** A shared memory import of any size: what env.memory can be (user-abi.js). */
const ANY_SHARED_MEMORY = [0x03, 0, ...uleb(65536)];

/**
 * A module from its parts. Types are [params, results] pairs of value
 * types; imports are functions [module, field, type]; functions are
 * {type, locals, code, export}; one funcref table, exported by tableName
 * if given; env.memory imported if memory.
 */
function assemble({ types, imports, memory = false, tableName = null, functions }) {
  const typeEntries = types.map(([params, results]) => [0x60, ...vector(params), ...vector(results)]);
  const importEntries = imports.map(([module, field, type]) => [...name(module), ...name(field), 0x00, ...uleb(type)]);
  if (memory) importEntries.push([...name('env'), ...name('memory'), 0x02, ...ANY_SHARED_MEMORY]);
  const functionIndex = imports.length;
  const exports = functions.map((f, i) => [...name(f.export), 0x00, ...uleb(functionIndex + i)]);
  if (tableName) exports.push([...name(tableName), 0x01, 0]);
  const bodies = functions.map((f) => {
    const locals = f.locals ?? [];
    const body = [...uleb(locals.length), ...locals.flatMap((type) => [1, type]), ...f.code, op.end];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, typeEntries),
    ...section(2, importEntries),
    ...section(3, functions.map((f) => uleb(f.type))),
    ...section(4, tableName ? [[FUNCREF, 0x00, 1]] : []),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}

const get = (index) => [op.localGet, ...uleb(index)];
const callSlot0 = (type) => [op.i32Const, 0, op.callIndirect, ...uleb(type), 0];

/*
 * The kernel's user_call import (asm/host.h): call a signal handler of the
 * user program. The host (abi.js) puts the handler in slot 0 of the table
 * and switches the program to the handler's stack; the glue calls it with
 * as many of (sig, info, uc) as it takes. A handler that longjmps out, or
 * traps, leaves kernel frames behind: the host is told so (user_call_unwind)
 * before the exception goes on.
 */
const HANDLER_TYPES = [
  /* 0 */ [[I32, I32, I32, I32, I32], []], // user_call(fn, sig, info, uc, sp)
  /* 1 */ [[I32, I32], [I32]],             // user_call_begin(fn, sp) -> parameter count
  /* 2 */ [[], []],                        // user_call_end, user_call_unwind; a handler of no parameter
  /* 3 */ [[I32], []],
  /* 4 */ [[I32, I32], []],
  /* 5 */ [[I32, I32, I32], []],
];

/** Locals of user_call: 0 fn, 1 sig, 2 info, 3 uc, 4 sp, 5 the handler's parameter count. */
function handlerDispatch() {
  const takes = (count) => [...get(5), op.i32Const, count, op.i32Eq, op.if, EMPTY_BLOCK];
  return [
    ...takes(3), ...get(1), ...get(2), ...get(3), ...callSlot0(5),
    op.else, ...takes(2), ...get(1), ...get(2), ...callSlot0(4),
    op.else, ...takes(1), ...get(1), ...callSlot0(3),
    op.else, ...callSlot0(2),
    op.end, op.end, op.end,
  ];
}

export const HANDLER_GLUE = assemble({
  types: HANDLER_TYPES,
  imports: [['host', 'user_call_begin', 1], ['host', 'user_call_end', 2], ['host', 'user_call_unwind', 2]],
  tableName: 'handlers',
  functions: [{
    type: 0,
    export: 'user_call',
    locals: [I32],
    code: [
      ...get(0), ...get(4), op.call, 0, op.localSet, 5,
      op.try, EMPTY_BLOCK,
      ...handlerDispatch(),
      op.catchAll, op.call, 2, op.rethrow, 0,
      op.end,
      op.call, 1,
    ],
  }],
});

/*
 * Clears the first bytes of a user program's memory (memories.js): Wasm's
 * memory.fill is many times faster than a typed array's fill on a shared
 * buffer.
 */
export const ZERO_GLUE = assemble({
  types: [[[I32], []]],
  imports: [],
  memory: true,
  functions: [{
    type: 0,
    export: 'zero',
    code: [op.i32Const, 0, op.i32Const, 0, ...get(0), ...op.memoryFill, 0],
  }],
});

/** A piece of a task's life, by the type of its function (task.js). */
export const PIECE = { park: 0, v: 1, i: 2, i_i: 3, syscall: 4 };

/**
 * The loop that runs on each coroutine's stack (coroutines.js), with the
 * host's task_next, task_arg, task_unwound and task_park imports:
 *
 *   loop
 *     shape = task_next(stack, result)  the stack's task's next piece: its
 *                                       function in slot 0, arguments from task_arg
 *     park: task_park(stack)            no task: suspend until given one
 *     else: try result = call slot 0
 *           catch_all  if task_unwound(stack): rethrow
 *
 * A stack runs task after task: a new stack costs a fresh engine stack,
 * which engines free only in a garbage collection. An exception an import
 * threw on purpose (exec's restart, a task's exit) ends at task_unwound;
 * others go on to the host. Traps are no exceptions: they end the stack.
 */
function taskGlue() {
  const types = [
    /* 0 */ [[I32, I32], [I32]],                     // task_next(stack, result) -> shape
    /* 1 */ [[I32], [I32]],                          // task_arg, task_unwound; i_i pieces
    /* 2 */ [[I32], []],                             // task_park, run(stack); i pieces
    /* 3 */ [[], []],                                // v pieces
    /* 4 */ [[I32, I64, I64, I64, I64, I64, I64], [I32]], // syscall pieces: the kernel's export
  ];
  const [NEXT, ARG, UNWOUND, PARK] = [0, 1, 2, 3];
  const imports = [['host', 'task_next', 0], ['host', 'task_arg', 1], ['host', 'task_unwound', 1],
    ['host', 'task_park', 2]];

  const [stack, result, shape] = [0, 1, 2]; // the parameter, then the locals
  const set = (index) => [op.localSet, index];
  const is = (code) => [...get(shape), op.i32Const, code, op.i32Eq, op.if, EMPTY_BLOCK];
  const arg = [...get(stack), op.call, ARG];
  const pieces = [
    ...is(PIECE.v), ...callSlot0(3), op.i32Const, 0, ...set(result),
    op.else, ...is(PIECE.i), ...arg, ...callSlot0(2), op.i32Const, 0, ...set(result),
    op.else, ...is(PIECE.i_i), ...arg, ...callSlot0(1), ...set(result),
    op.else, ...arg, ...arg, op.i64ExtendI32S, ...Array(5).fill([op.i64Const, 0]).flat(),
    ...callSlot0(4), ...set(result),
    op.end, op.end, op.end,
  ];
  const run = [
    op.loop, EMPTY_BLOCK,
    ...get(stack), ...get(result), op.call, NEXT, op.localTee, shape,
    op.i32Eqz, op.if, EMPTY_BLOCK,
    ...get(stack), op.call, PARK,
    op.else,
    op.try, EMPTY_BLOCK, ...pieces,
    op.catchAll, ...get(stack), op.call, UNWOUND, op.if, EMPTY_BLOCK, op.rethrow, 1, op.end,
    op.i32Const, 0, ...set(result),
    op.end,
    op.end,
    op.br, 0,
    op.end,
  ];
  return assemble({
    types,
    imports,
    tableName: 'entries',
    functions: [{ type: 2, export: 'run', locals: [I32, I32], code: run }],
  });
}

export const TASK_GLUE = taskGlue();
