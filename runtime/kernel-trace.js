// The kernel's call stacks as the engine records them (an Error's stack),
// written as Linux writes a call trace: one function a line, and for a
// module's function its offset, its size and the module's name, as in
// "hello_init+0x1d/0x60 [hello]". Best effort: an engine whose stack
// lines look otherwise gets its own lines, JavaScript frames left out.

/**
 * What a trace needs of each loaded module's code, by the module's name
 * (module-code.js): its imported functions come first in its function
 * index space, then its bodies.
 * @typedef {Map<string, {imported: number, bodies: import('./module-code.js').Body[]}>} LoadedCode
 */

// V8:             at hello.hello_init (wasm://wasm/hello-1f2e3d4c:wasm-function[3]:0x1a5)
// SpiderMonkey:   hello.hello_init@...wasm-function[3]:0x1a5
const FRAME = /^\s*(?:at )?(?:([^\s(@]+)(?: \(|@))?(\S*?):wasm-function\[(\d+)\]:0x([0-9a-f]+)\)?\s*$/;
const NAMED_URL = /wasm:\/\/wasm\/(.+)-[0-9a-f]+$/;

/** The kernel's ways in from the host (a system call, a new task, the boot): a trace ends there. */
const ENTRIES = new Set(['wasm_syscall', 'wasm_task_entry', 'wasm_boot']);

/** @param {string} line @param {LoadedCode} code */
function frameText(line, code) {
  const match = FRAME.exec(line);
  if (!match) return null;
  const [, fullName, url, index, offset] = match;
  const module = NAMED_URL.exec(url)?.[1] ?? '';
  const name = fullName && module && fullName.startsWith(`${module}.`) ? fullName.slice(module.length + 1) : fullName;
  const shown = name || `wasm-function[${index}]`;
  const loaded = code.get(module);
  const body = loaded?.bodies[Number(index) - loaded.imported];
  if (!body) return { name: shown, text: shown };
  const at = parseInt(offset, 16) - body.start;
  return { name: shown, text: `${shown}+0x${at.toString(16)}/0x${body.size.toString(16)} [${module}]` };
}

/**
 * The kernel's frames of a stack, innermost first, one a line.
 * @param {string} stack @param {LoadedCode} code
 */
export function traceText(stack, code) {
  const lines = [];
  for (const line of stack.split('\n')) {
    const frame = frameText(line, code);
    if (!frame) continue;
    lines.push(` ${frame.text}`);
    if (ENTRIES.has(frame.name)) break;
  }
  return lines.join('\n');
}

/**
 * A trap for the kernel's oops (wasm_host_fault_text): its message, then its
 * kernel frames.
 * @param {unknown} error @param {LoadedCode} code
 */
export function faultText(error, code) {
  if (!(error instanceof Error)) return String(error);
  return `${error.message}\n${traceText(error.stack ?? '', code)}`;
}
