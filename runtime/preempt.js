// Preemption points in user programs. A Wasm thread cannot be interrupted,
// and the task running user code holds the CPU: a busy loop would freeze
// the system. So each program is rewritten once, before it is compiled:
// every loop starts with a look at a word of the program's memory that the
// host sets when an interrupt is waiting (machine.js). If it is set, the
// loop clears it and calls sched_yield(), which lets the kernel take the
// interrupt, deliver signals (Ctrl-C) and run other tasks.
//
//   loop <blocktype>
//     i32.const PREEMPT_FLAG  i32.atomic.load        ;; atomic: never hoisted
//     if
//       i32.const PREEMPT_FLAG  i32.const 0  i32.atomic.store
//       i32.const NR_sched_yield  i64.const 0 (x6)  call $linux.syscall  drop
//     end
//     ...the loop's own body
//
// Inserting a closed `if` at the top of a loop moves no branch target.

import { Reader, concat, encodeS32, encodeU32, forEachInstruction, functionImports } from './wasm-binary.js';

/** The word the host sets: in the first KiB, which the linker leaves unused. */
export const PREEMPT_FLAG = 16;
const NR_SCHED_YIELD = 124;

const CUSTOM_SECTION = 0;
const CODE_SECTION = 10;
const IMPORT_SECTION = 2;

/**
 * The custom section that marks a program as rewritten already: the system
 * image's programs are rewritten when it is built (linuxwasm's system.py,
 * with node/preempt.js), which spares each boot the work.
 */
const PREEMPTED_SECTION = 'linuxwasm.preempted';

/** Whether the program carries the mark of addPreemptionPoints(). @param {Uint8Array} bytes */
export function hasPreemptionPoints(bytes) {
  const r = new Reader(bytes, 8);
  try {
    while (r.at < bytes.length) {
      const id = r.byte();
      const end = r.u32() + r.at;
      if (id === CUSTOM_SECTION && r.name() === PREEMPTED_SECTION) return true;
      r.at = end;
    }
  } catch {
    // A malformed module: the compiler will say so.
  }
  return false;
}

/**
 * The program with a preemption point at the top of every loop, and the
 * mark that says so. Throws if the module has something this does not
 * know; the caller then runs it as it is.
 * @param {Uint8Array} bytes
 * @returns {Uint8Array}
 */
export function addPreemptionPoints(bytes) {
  const r = new Reader(bytes, 8);
  let syscall = -1;
  const out = [bytes.subarray(0, 8)];
  while (r.at < bytes.length) {
    const sectionStart = r.at;
    const id = r.byte();
    const size = r.u32();
    const contentStart = r.at;
    const end = contentStart + size;
    if (id === IMPORT_SECTION) syscall = functionImports(new Reader(bytes, contentStart), end).indexOf('linux.syscall');
    if (id !== CODE_SECTION) {
      out.push(bytes.subarray(sectionStart, end));
      r.at = end;
      continue;
    }
    if (syscall < 0) throw new Error('no linux.syscall import');
    const check = Uint8Array.from([
      0x41, ...encodeS32(PREEMPT_FLAG), 0xfe, 0x10, 0x02, 0x00, // i32.atomic.load
      0x04, 0x40, // if
      0x41, ...encodeS32(PREEMPT_FLAG), 0x41, 0x00, 0xfe, 0x17, 0x02, 0x00, // i32.atomic.store 0
      0x41, ...encodeS32(NR_SCHED_YIELD), ...Array(6).fill([0x42, 0x00]).flat(),
      0x10, ...encodeU32(syscall), 0x1a, // call, drop
      0x0b, // end
    ]);
    const bodies = [];
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const bodySize = r.u32();
      const bodyStart = r.at;
      const bodyEnd = bodyStart + bodySize;
      for (let groups = r.u32(); groups > 0; groups--) { r.u32(); r.byte(); }
      const starts = [];
      forEachInstruction(r, bodyEnd, (op) => {
        if (op === 0x03) starts.push(r.at); // a loop: its body starts here
      });
      const parts = [];
      let from = bodyStart;
      for (const at of starts) {
        parts.push(bytes.subarray(from, at), check);
        from = at;
      }
      parts.push(bytes.subarray(from, bodyEnd));
      const length = parts.reduce((n, p) => n + p.length, 0);
      bodies.push(Uint8Array.from(encodeU32(length)), ...parts);
      r.at = bodyEnd;
    }
    const content = [Uint8Array.from(encodeU32(count)), ...bodies];
    const contentLength = content.reduce((n, p) => n + p.length, 0);
    out.push(Uint8Array.from([id, ...encodeU32(contentLength)]), ...content);
  }
  const name = new TextEncoder().encode(PREEMPTED_SECTION);
  out.push(Uint8Array.from([CUSTOM_SECTION, ...encodeU32(encodeU32(name.length).length + name.length),
    ...encodeU32(name.length)]), name);
  return concat(out);
}
