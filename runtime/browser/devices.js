// The page's side of its devices (device-worker.js): a bus with the
// machine's interface (../virtio/bus.js) whose devices live in a worker.
// The kernel's task threads see the devices' registers directly; their
// notifications pass through here to the worker, and its interrupts back.

/**
 * The page's devices, once the worker has them: the home disk (unless there
 * is no OPFS, or it cannot be opened: homeReason says why) and the network
 * card (if the relay answers: else networkReason). bus is null, with the
 * reason, if there is neither.
 * @param {{image: string, size: number, reset?: boolean}} home  the site's empty image and its size
 * @param {string|null} relay  the network relay's WebSocket URL
 * @returns {Promise<{bus: object|null, home: boolean, readOnly: boolean, notice: string, homeReason: string,
 *   network: string, networkReason?: string, reason?: string}>}
 */
export async function startDevices(home, relay) {
  const noOpfs = !navigator.storage?.getDirectory;
  const homeReason = noOpfs ? 'this browser has no Origin Private File System' : '';
  const without = { bus: null, home: false, readOnly: false, notice: '', homeReason, network: '' };
  if (noOpfs && !relay) return { ...without, reason: homeReason };
  const worker = new Worker(new URL('./device-worker.js', import.meta.url), { type: 'module' });
  const reply = await new Promise((resolve) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (event) => {
      event.preventDefault();
      resolve({ kind: 'unavailable', reason: event.message || 'the device worker failed to load' });
    };
    worker.postMessage({
      kind: 'open', relay, home: noOpfs ? null : { ...home, image: new URL(home.image, location.href).href },
    });
  });
  if (reply.kind !== 'ready') {
    worker.terminate();
    return { ...without, reason: reply.reason, homeReason: homeReason || reply.reason };
  }
  let raise = () => {};
  let fail = () => {};
  let closed;
  const released = new Promise((resolve) => { closed = resolve; });
  worker.onmessage = ({ data }) => {
    if (data.kind === 'irq') raise(data.irq);
    else if (data.kind === 'fail') fail(data.reason);
    else if (data.kind === 'network-lost') bus.onNetworkLost();
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
    /** The relay went away: the guest's connections fail from now on. */
    onNetworkLost() {},
  };
  const { buffers, cmdline, kind, ...devices } = reply;
  return { bus, ...devices };
}
