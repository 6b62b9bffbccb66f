// The page's side of its devices (device-worker.js): a bus with the
// machine's interface (../virtio/bus.js) whose devices live in a worker.
// The kernel's task threads see the devices' registers directly; their
// notifications pass through here to the worker, and its interrupts back.

/**
 * The page's devices, once the worker has them; null with the reason if
 * there can be none here (no OPFS: then the page runs without a home disk).
 * @param {{image: string, size: number, reset?: boolean}} home  the site's empty image and its size
 * @returns {Promise<{bus: object, readOnly: boolean, notice: string}|{bus: null, reason: string}>}
 */
export async function startDevices(home) {
  if (!navigator.storage?.getDirectory) return { bus: null, reason: 'this browser has no Origin Private File System' };
  const worker = new Worker(new URL('./device-worker.js', import.meta.url), { type: 'module' });
  const reply = await new Promise((resolve) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (event) => {
      event.preventDefault();
      resolve({ kind: 'unavailable', reason: event.message || 'the device worker failed to load' });
    };
    worker.postMessage({ kind: 'open', home: { ...home, image: new URL(home.image, location.href).href } });
  });
  if (reply.kind !== 'ready') {
    worker.terminate();
    return { bus: null, reason: reply.reason };
  }
  let raise = () => {};
  let fail = () => {};
  let closed;
  const released = new Promise((resolve) => { closed = resolve; });
  worker.onmessage = ({ data }) => {
    if (data.kind === 'irq') raise(data.irq);
    else if (data.kind === 'fail') fail(data.reason);
  };
  const bus = {
    buffers: reply.buffers,
    cmdline: reply.cmdline,
    connect(onRaise, onFail) {
      raise = onRaise;
      fail = onFail;
    },
    attach(memory) {
      worker.postMessage({ kind: 'attach', memory });
    },
    handle(message) {
      worker.postMessage(message);
    },
    /** Release the disk (its OPFS lock goes with the worker); released says when it has. */
    close() {
      worker.onmessage = ({ data }) => {
        if (data.kind !== 'closed') return;
        worker.terminate();
        closed();
      };
      worker.postMessage({ kind: 'close' });
    },
    released,
  };
  return { bus, readOnly: reply.readOnly, notice: reply.notice };
}
