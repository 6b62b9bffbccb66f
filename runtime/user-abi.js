// The user program ABI: what a Wasm executable must import and export.
//
//   import  env.memory        shared memory (wasm-ld --shared-memory --import-memory)
//   import  linux.syscall     (i32 nr, i64 a0..a5) -> i32, bound to the kernel
//   import  linux.fork        (i32 buf, i32 size) -> i32, optional: fork.js; a program
//                             that imports it exports Asyncify's functions
//   export  _start            () -> (), runs the program; __stack_pointer points at
//                             argc, then argv[], NULL, envp[], NULL, auxv pairs
//   export  __stack_pointer   the C stack pointer, set for a clone child
//   export  __indirect_function_table  to call a clone child's function
//
// Function pointers are table indices from 3 up (wasm-ld --table-base), so
// that none is 0, 1 or 2 (SIG_DFL, SIG_IGN, SIG_HOLD).
//
// A clone child starts on the stack it was given, where its parent's libc
// put the function to run and its argument: [sp] = fn, [sp + 4] = arg.

/** The unit of Wasm memory sizes. */
export const WASM_PAGE = 65536;
export const ENOENT = 2;
export const ENOEXEC = 8;
export const ENOSYS = 38;
export const NR_EXIT = 93;
export const NR_EXIT_GROUP = 94;
export const NR_CLONE = 220;
export const SIGILL = 4;
export const SIGSEGV = 11;
export const SIGCHLD = 17;

/**
 * Thrown to leave a user program whose task exec'd another. Not an Error,
 * which would record the call stack at a cost (abi.js TaskExit).
 */
export class UserRestart {
  toString() {
    return 'user restart';
  }
}

function leb128(bytes, state) {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[state.at++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(byte & 0x80)) return result;
  }
}

/**
 * The limits (in 64 KiB pages) of a module's imported memory, read from its
 * import section; null if it imports no memory.
 * @param {Uint8Array} bytes
 * @returns {{min: number, max: number, shared: boolean}|null}
 */
export function memoryImport(bytes) {
  const decoder = new TextDecoder();
  const state = { at: 8 };
  const name = () => {
    const length = leb128(bytes, state);
    state.at += length;
    return decoder.decode(bytes.subarray(state.at - length, state.at));
  };
  while (state.at < bytes.length) {
    const id = bytes[state.at++];
    const size = leb128(bytes, state);
    const end = state.at + size;
    if (id === 2) {
      for (let count = leb128(bytes, state); count > 0; count--) {
        name();
        name();
        const kind = bytes[state.at++];
        if (kind === 0) leb128(bytes, state); // function: type index
        else if (kind === 1) { state.at++; const flags = bytes[state.at++]; leb128(bytes, state); if (flags & 1) leb128(bytes, state); }
        else if (kind === 3) state.at += 2; // global: type, mutability
        else if (kind === 2) {
          const flags = bytes[state.at++];
          const min = leb128(bytes, state);
          const max = flags & 1 ? leb128(bytes, state) : min;
          return { min, max, shared: Boolean(flags & 2) };
        } else return null;
      }
      return null;
    }
    state.at = end;
  }
  return null;
}

/**
 * Why a module is not a user program, or null if it is one.
 * @param {WebAssembly.Module} module
 * @param {{shared: boolean}|null} memory
 */
export function abiProblem(module, memory) {
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  if (!memory || !memory.shared) return 'no shared env.memory import';
  if (WebAssembly.Module.imports(module).filter((i) => i.kind === 'memory').length !== 1) {
    return 'more than one memory import';
  }
  const known = new Set(['env.memory', 'linux.syscall', 'linux.fork']);
  const unknown = imports.filter((name) => !known.has(name));
  if (unknown.length) return `unknown imports ${unknown.join(', ')}`;
  for (const name of ['_start', '__stack_pointer', '__indirect_function_table']) {
    if (!exports.has(name)) return `no export ${name}`;
  }
  return null;
}
