// The page's side of its devices (device-worker.js): a bus with the
// machine's interface (../virtio/bus.js) whose devices live in a worker.
// The kernel's task threads see the devices' registers directly; their
// notifications pass through here to the worker, and its interrupts back.

/**
 * The page's devices, once the worker has them: the home disk (if asked
 * for, unless there is no OPFS or it cannot be opened: homeReason says
 * why), the network card of the relay (if it answers: else
 * networkReason), and the card on the tab's switch. bus is null, with the
 * reason, if the worker cannot start.
 * @param {{image: string, size: number, reset?: boolean}|null} home  the site's empty image and its size
 * @param {string|null} relay  the network relay's WebSocket URL
 * @param {{port: MessagePort, mac: string}} cluster  a port of the tab's switch, and the card's address
 * @returns {Promise<{bus: object|null, home: boolean, readOnly: boolean, notice: string, homeReason: string,
 *   network: string, networkReason?: string, reason?: string}>}
 */
export async function startDevices(home, relay, cluster) {
  const noOpfs = !navigator.storage?.getDirectory;
  const homeReason = !home ? 'only the first machine has the home disk'
    : noOpfs ? 'this browser has no Origin Private File System' : '';
  const without = { bus: null, home: false, readOnly: false, notice: '', homeReason, network: '' };
  const worker = new Worker(new URL('./device-worker.js', import.meta.url), { type: 'module' });
  const reply = await new Promise((resolve) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (event) => {
      event.preventDefault();
      resolve({ kind: 'unavailable', reason: event.message || 'the device worker failed to load' });
    };
    worker.postMessage({
      kind: 'open', relay, cluster,
      home: noOpfs || !home ? null : { ...home, image: new URL(home.image, location.href).href },
    }, [cluster.port]);
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
  return { bus, ...devices, homeReason: devices.homeReason || homeReason };
}
