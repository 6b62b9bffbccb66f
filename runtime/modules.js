// Loadable kernel modules, the host's side (arch/wasm/kernel/module.c):
// each module's code is a Wasm side module (src/linuxwasm/modules.py made
// its .ko) instantiated in this thread's kernel instance. It shares the
// kernel's memory, function table and stack pointer; its data region is
// where the kernel's loader put it; its functions take free slots of the
// kernel's table, so that the kernel calls them as it calls its own. Its
// code is compiled as module-code.js rewrites it: a NULL dereference traps.

import { moduleCode } from './module-code.js';
import { ENOEXEC } from './user-abi.js';
import { Reader } from './wasm-binary.js';

const encoder = new TextEncoder();

/** What each module is given by the host itself; the rest the loader resolved. */
const HOST_IMPORTS = new Map([
  ['env.memory', 'memory'],
  ['env.__indirect_function_table', 'table'],
  ['env.__stack_pointer', 'global'],
  ['env.__memory_base', 'global'],
  ['env.__table_base', 'global'],
  // `current` (asm/current.h), inlined
  ['env.wasm_current_task', 'global'],
]);

/** A refusal: its message reaches the kernel log. */
class Refusal extends Error {}

/** The longest module name (MODULE_NAME_LEN, with its NUL). */
const MODULE_NAME_LEN = 56;

/**
 * The memory info of a side module's dylink.0 section.
 * @param {WebAssembly.Module} module
 * @returns {{size: number, align: number, tableSize: number}}
 */
function dylinkMemory(module) {
  const [section] = WebAssembly.Module.customSections(module, 'dylink.0');
  if (!section) throw new Refusal('not a Wasm side module (no dylink.0 section)');
  const r = new Reader(new Uint8Array(section));
  while (r.at < r.bytes.length) {
    const kind = r.byte();
    const end = r.u32() + r.at;
    if (kind === 1) {
      const info = { size: r.u32(), align: r.u32(), tableSize: r.u32() };
      if (info.align > 16) throw new Refusal('dylink.0 asks for an alignment above 2^16');
      return { ...info, align: 2 ** info.align };
    }
    r.at = end;
  }
  throw new Refusal('dylink.0 has no memory info');
}

/**
 * The module imports of one kernel instance (asm/host.h).
 * @param {import('./abi.js').TaskContext} ctx
 * @param {() => Record<string, Function>} host  the kernel's "host" imports,
 *   which a module's inlined kernel code (copy_from_user...) calls as well
 * @param {import('./kernel-trace.js').LoadedCode} code  kept up to date here
 *   with each loaded module's code, for the kernel's call traces
 */
export function moduleImports(ctx, host, code) {
  /** @type {Map<number, {name: string, instance: WebAssembly.Instance, tableBase: number, slots: number}>} by id */
  const loaded = new Map();
  /** What module_attach listed since the last modules_attached, by id. */
  let listed = new Map();
  /** Where the kernel's own functions end in its table: modules' slots come after. */
  let kernelSlots = 0;

  const table = () => /** @type {WebAssembly.Table} */ (ctx.kernel.exports.__indirect_function_table);

  /** The first of n consecutive free slots after the kernel's own, growing the table if none. */
  function freeSlots(n) {
    const t = table();
    let run = 0;
    for (let slot = kernelSlots; slot < t.length; slot++) {
      run = t.get(slot) === null ? run + 1 : 0;
      if (run === n) return slot - n + 1;
    }
    const base = t.length - run;
    t.grow(n - run);
    return base;
  }

  /** The imports of a module, each value the loader resolved, in order. */
  function importsOf(module, values, memoryBase, tableBase) {
    const t = table();
    const env = {
      memory: ctx.memory,
      __indirect_function_table: t,
      __stack_pointer: ctx.kernel.exports.__stack_pointer,
      wasm_current_task: ctx.kernel.exports.wasm_current_task,
      __memory_base: new WebAssembly.Global({ value: 'i32', mutable: false }, memoryBase),
      __table_base: new WebAssembly.Global({ value: 'i32', mutable: false }, tableBase),
    };
    const imports = { env, host: {}, 'GOT.mem': {}, 'GOT.func': {} };
    const wanted = WebAssembly.Module.imports(module).filter((imp) => {
      if (imp.module === 'host') {
        const fn = host()[imp.name];
        if (imp.kind !== 'function' || typeof fn !== 'function') {
          throw new Refusal(`it imports host.${imp.name}, which the host does not provide`);
        }
        imports.host[imp.name] = fn;
        return false;
      }
      const kind = HOST_IMPORTS.get(`${imp.module}.${imp.name}`);
      if (kind && kind !== imp.kind) throw new Refusal(`it imports ${imp.module}.${imp.name} as a ${imp.kind}`);
      return !kind;
    });
    if (wanted.length !== values.length) {
      throw new Refusal(`it imports ${wanted.length} kernel symbols, its symbol table has ${values.length}`);
    }
    wanted.forEach((imp, i) => {
      const value = values[i];
      if (imp.module === 'env' && imp.kind === 'function') {
        const fn = value < t.length ? t.get(value) : null;
        if (!fn) throw new Refusal(`${imp.name} is not a kernel function`);
        env[imp.name] = fn;
      } else if ((imp.module === 'GOT.mem' || imp.module === 'GOT.func') && imp.kind === 'global') {
        imports[imp.module][imp.name] = new WebAssembly.Global({ value: 'i32', mutable: true }, value);
      } else {
        throw new Refusal(`it imports ${imp.module}.${imp.name} (${imp.kind}), which the kernel does not provide`);
      }
    });
    return imports;
  }

  /** The module's name, as struct module has it. */
  function nameAt(at) {
    const bytes = new Uint8Array(ctx.memory.buffer);
    const end = bytes.subarray(at, at + MODULE_NAME_LEN).indexOf(0);
    if (end <= 0) throw new Refusal('its name is not a string of the kernel');
    // A copy: browsers decode no view of shared memory.
    return new TextDecoder().decode(bytes.slice(at, at + end));
  }

  /** Its code as compiled here: checked and named (module-code.js). */
  function compile(name, bytes) {
    // Bytes that are no Wasm get the engine's word on them, not the rewrite's.
    if (!WebAssembly.validate(bytes)) new WebAssembly.Module(bytes);
    let rewritten;
    try {
      rewritten = moduleCode(bytes, name, ctx.kernel.exports.null_fault());
    } catch (e) {
      throw new Refusal(`its code cannot be given NULL checks: ${e.message}`);
    }
    const module = new WebAssembly.Module(rewritten.bytes);
    return { module, dylink: dylinkMemory(module), imported: rewritten.imported, bodies: rewritten.bodies };
  }

  /**
   * Compile a module from kernel memory and instantiate it at tableBase
   * (null: at free slots). Returns its first slot.
   */
  function instantiate(id, nameAddress, wasm, size, memoryBase, importsAt, count, tableBase, regionSize) {
    kernelSlots ||= table().length;
    const memory = new DataView(ctx.memory.buffer);
    if (wasm + size > memory.byteLength || importsAt + 4 * count > memory.byteLength) {
      throw new Refusal('its code or symbols lie outside kernel memory');
    }
    const name = nameAt(nameAddress);
    const { module, dylink, imported, bodies } = compile(name, new Uint8Array(ctx.memory.buffer, wasm, size).slice());
    const { size: dataSize, align, tableSize } = dylink;
    if (dataSize > regionSize) throw new Refusal(`its data needs ${dataSize} bytes, the loader gave ${regionSize}`);
    if (memoryBase % align) throw new Refusal(`its data at ${memoryBase} is not aligned to ${align} bytes`);
    // Each slot is filled by an element of the module's bytes: a larger
    // table would only grow the host's memory.
    if (tableSize > size) throw new Refusal(`it asks for ${tableSize} table slots, more than its code could fill`);
    const values = Array.from({ length: count }, (_, i) => memory.getUint32(importsAt + 4 * i, true));
    // One slot at least, so that each module has a first slot of its own.
    const slots = Math.max(tableSize, 1);
    const base = tableBase ?? freeSlots(slots);
    const t = table();
    if (t.length < base + slots) t.grow(base + slots - t.length);
    try {
      const instance = new WebAssembly.Instance(module, importsOf(module, values, memoryBase, base));
      loaded.set(id, { name, instance, tableBase: base, slots });
      code.set(name, { imported, bodies });
      return base;
    } catch (e) {
      for (let i = 0; i < slots; i++) t.set(base + i, null);
      throw e;
    }
  }

  function forget(id) {
    const module = loaded.get(id);
    if (!module) return;
    for (let i = 0; i < module.slots; i++) table().set(module.tableBase + i, null);
    loaded.delete(id);
    code.delete(module.name);
  }

  return {
    module_load(id, nameAddress, wasm, size, memoryBase, regionSize, importsAt, count, why, whySize) {
      try {
        const tableBase = instantiate(id, nameAddress, wasm, size, memoryBase, importsAt, count, null, regionSize);
        // Relocations write the kernel's memory: once, by the first instance.
        loaded.get(id).instance.exports.__wasm_apply_data_relocs?.();
        return tableBase;
      } catch (e) {
        forget(id);
        const reason = e instanceof Refusal ? e.message : `${e.name}: ${e.message}`;
        const bytes = new Uint8Array(ctx.memory.buffer);
        if (whySize > 0 && why + whySize <= bytes.length) {
          const text = encoder.encode(reason).subarray(0, whySize - 1);
          bytes.set(text, why);
          bytes[why + text.length] = 0;
        }
        return -ENOEXEC;
      }
    },
    module_forget: forget,
    module_attach(id, nameAddress, wasm, size, memoryBase, importsAt, count, tableBase) {
      listed.set(id, [nameAddress, wasm, size, memoryBase, importsAt, count, tableBase]);
    },
    modules_attached() {
      const wanted = listed;
      listed = new Map();
      for (const id of [...loaded.keys()]) if (!wanted.has(id)) forget(id);
      for (const [id, args] of wanted) {
        if (loaded.has(id)) continue;
        try {
          // The first instance checked its region: it is as big as the code needs.
          instantiate(id, ...args, Infinity);
        } catch (e) {
          // The kernel may call it from here on: this thread cannot go on.
          throw new Error(`a kernel module loaded on another thread cannot be instantiated on this one: ${e.message}`);
        }
      }
    },
  };
}
