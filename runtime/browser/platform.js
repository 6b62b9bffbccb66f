// The browser adapter: task threads are module Web Workers, and what the
// guest writes to a terminal reaches the page through a callback. The
// machine (../machine.js) runs on the page's thread; it never blocks.
import { Machine } from '../machine.js';
import { canSwitchStacks } from '../stack-switching.js';

/**
 * @typedef {object} BrowserMachineOptions
 * @property {WebAssembly.Module} kernel  vmlinux.wasm, compiled
 * @property {Uint8Array} initrd       the initramfs
 * @property {string} cmdline
 * @property {number} [memoryMiB]
 * @property {(vterm: number, bytes: Uint8Array) => void} onOutput  a terminal's output, by vterm number
 * @property {object|null} [bus]  the machine's devices (devices.js), if any
 * @property {boolean} [coroutines]  all tasks in one Web Worker where the engine can switch
 *                                   stacks (the default); false: a Web Worker per task
 */

/**
 * What this browser lacks to run a machine, in words; null if nothing.
 * Shared memory needs a cross-origin isolated page (COOP and COEP headers).
 * @returns {string|null}
 */
export function missingFeature() {
  if (typeof WebAssembly !== 'object') return 'this browser has no WebAssembly';
  if (typeof SharedArrayBuffer === 'undefined' || !globalThis.crossOriginIsolated) {
    return 'SharedArrayBuffer is not available: the page is not cross-origin isolated '
      + '(the server must send Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy headers)';
  }
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return 'this browser has no WebAssembly threads (shared memory)';
  }
  return null;
}

/**
 * A Web Worker, with a load failure kept until someone listens.
 * @returns {{worker: Worker, failure: string|null}}
 */
function startWorker() {
  const started = { worker: new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }), failure: null };
  started.worker.onerror = (event) => {
    event.preventDefault();
    started.failure = event.message || 'the worker script failed to load';
  };
  return started;
}

/*
 * The first machine's first thread, started as this module loads: its
 * scripts load while the page downloads the kernel, not after (a tenth of
 * a second, one module after another).
 */
let early = typeof Worker === 'function' ? startWorker() : null;

/** @param {BrowserMachineOptions} options @returns {Machine} */
export function createMachine(options) {
  const platform = {
    coroutines: (options.coroutines ?? true) && canSwitchStacks(),
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    createThread(onMessage, onError) {
      const { worker, failure } = early ?? startWorker();
      early = null;
      worker.onmessage = ({ data }) => {
        if (data.kind === 'console') options.onOutput(data.vterm, data.bytes);
        else onMessage(data);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        onError(new Error(event.message || 'the worker script failed to load'));
      };
      if (failure) queueMicrotask(() => onError(new Error(failure)));
      return { post: (start) => worker.postMessage(start), terminate: () => worker.terminate() };
    },
  };
  return new Machine(platform, {
    kernel: options.kernel,
    initrd: options.initrd,
    cmdline: options.cmdline,
    memoryMiB: options.memoryMiB ?? 128,
    timeoutMs: 0,
    bus: options.bus ?? undefined,
  });
}
