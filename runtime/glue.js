// Two small Wasm modules that sit between the kernel and the host where a
// JavaScript frame must not: a task suspends its whole call stack when it
// hands over the CPU (coroutines.js), and engines refuse to suspend a stack
// with JavaScript frames on it. Written out here byte by byte, since they
// are tiny and a build step for them would be larger than they are.

import { encodeU32 as uleb } from './preempt.js';

const I32 = 0x7f;
const I64 = 0x7e;
const FUNCREF = 0x70;
const EXTERNREF = 0x6f;
const EMPTY_BLOCK = 0x40;

const op = {
  if: 0x04, else: 0x05, try: 0x06, rethrow: 0x09, end: 0x0b,
  call: 0x10, callIndirect: 0x11, localGet: 0x20, localSet: 0x21,
  globalGet: 0x23, globalSet: 0x24, i32Const: 0x41, i32Eq: 0x46, catchAll: 0x19,
};

const vector = (items) => [...uleb(items.length), ...items.flat()];
const name = (text) => vector([...new TextEncoder().encode(text)]);
const section = (id, items) => (items.length ? [id, ...uleb(vector(items).length), ...vector(items)] : []);

/**
 * A module from its parts. Types are [params, results] pairs of value
 * types; imports are functions [module, field, type]; functions are
 * {type, locals, code, export}; one funcref table, exported by tableName.
 */
function assemble({ types, imports, globals = [], tableName, functions }) {
  const typeEntries = types.map(([params, results]) => [0x60, ...vector(params), ...vector(results)]);
  const importEntries = imports.map(([module, field, type]) => [...name(module), ...name(field), 0x00, ...uleb(type)]);
  const functionIndex = imports.length;
  const exports = functions.map((f, i) => [...name(f.export), 0x00, ...uleb(functionIndex + i)]);
  exports.push([...name(tableName), 0x01, 0]);
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
    ...section(4, [[FUNCREF, 0x00, 1]]),
    ...section(6, globals),
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
 * For engines with the first version of JavaScript Promise Integration
 * (V8 11, Node 20), where a suspending import and a promising export take
 * the "suspender" as their first parameter, which the kernel's C code
 * cannot pass along. The glue keeps it in a global: each entry stores its
 * coroutine's suspender, and task_switch passes it to the host and puts it
 * back when the coroutine resumes, since others ran meanwhile. The entries
 * call slot 0 of the table, where the host puts the function to start.
 */
const SUSPENDER_TYPES = [
  /* 0 */ [[EXTERNREF, I32, I32], []],  // the host's task_switch(suspender, next, prev_dead)
  /* 1 */ [[I32, I32], []],             // task_switch(next, prev_dead), as the kernel imports it
  /* 2 */ [[EXTERNREF], []],            // enter_v
  /* 3 */ [[EXTERNREF, I32], []],       // enter_i
  /* 4 */ [[EXTERNREF, I32], [I32]],    // enter_i_i
  /* 5 */ [[], []],
  /* 6 */ [[I32], []],
  /* 7 */ [[I32], [I32]],
  /* 8 */ [[EXTERNREF, I32, I64, I64, I64, I64, I64, I64], [I32]], // enter_syscall
  /* 9 */ [[I32, I64, I64, I64, I64, I64, I64], [I32]],            // the kernel's syscall export
];

const setSuspender = [...get(0), op.globalSet, 0];

export const SUSPENDER_GLUE = assemble({
  types: SUSPENDER_TYPES,
  imports: [['host', 'task_switch', 0]],
  globals: [[EXTERNREF, 0x01, 0xd0, EXTERNREF, op.end]],
  tableName: 'entries',
  functions: [
    {
      type: 1,
      export: 'task_switch',
      locals: [EXTERNREF],
      code: [op.globalGet, 0, op.localSet, 2, ...get(2), ...get(0), ...get(1), op.call, 0, ...get(2), op.globalSet, 0],
    },
    { type: 2, export: 'enter_v', code: [...setSuspender, ...callSlot0(5)] },
    { type: 3, export: 'enter_i', code: [...setSuspender, ...get(1), ...callSlot0(6)] },
    { type: 4, export: 'enter_i_i', code: [...setSuspender, ...get(1), ...callSlot0(7)] },
    {
      type: 8,
      export: 'enter_syscall',
      code: [...setSuspender, ...[1, 2, 3, 4, 5, 6, 7].flatMap(get), ...callSlot0(9)],
    },
  ],
});
