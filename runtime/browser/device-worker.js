// The page's devices, in a dedicated worker of their own: OPFS's sync
// access handles exist only there, and a device's I/O must not run on the
// page's thread or the kernel's (../virtio/bus.js). The page side is
// devices.js. The user's home is an ext4 disk in OPFS ("home.img"), made
// from the site's empty image the first time; if another tab holds it,
// this tab gets it read-only, as it was when that tab last wrote it. A
// network card's cable is a WebSocket to a relay (ws-link.js), if one
// answers; another's is a port of the tab's switch (../network/switch.js).
import { parseMac } from '../network/link.js';
import { BlockDevice } from '../virtio/block.js';
import { Bus } from '../virtio/bus.js';
import { NetDevice } from '../virtio/net.js';
import { PortLink } from '../network/port-link.js';
import { FileDisk, OpfsDisk } from './opfs-disk.js';
import { connectRelay } from './ws-link.js';

const HOME = 'home.img';
const BLOCK = 65536;
const MAC = '02:4c:57:00:00:01';

/** Make the disk from the site's gzipped image, writing only what is not zeros. */
async function fill(handle, url, size) {
  handle.truncate(0);
  handle.truncate(size);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  const reader = response.body.pipeThrough(new DecompressionStream('gzip')).getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    for (let i = 0; i < value.length; i += BLOCK) {
      const piece = value.subarray(i, i + BLOCK);
      if (piece.some((b) => b !== 0)) handle.write(piece, { at: at + i });
    }
    at += value.length;
  }
  if (at !== size) throw new Error(`${url}: ${at} bytes, not ${size}`);
  handle.flush();
}

/**
 * The home disk: read-write if this tab can have it, else read-only.
 * @returns {Promise<{disk: import('../disk.js').Disk, notice: string}>}
 */
async function openHome({ image, size, reset }) {
  const root = await navigator.storage.getDirectory();
  const file = await root.getFileHandle(HOME, { create: true });
  let handle;
  try {
    handle = await file.createSyncAccessHandle();
  } catch (error) {
    if (error.name !== 'NoModificationAllowedError') throw error;
    let disk;
    try {
      disk = new FileDisk(await file.getFile());
      disk.read(new Uint8Array(512), 0);
    } catch {
      throw new Error('your home is in use in another tab');
    }
    return { disk, notice: 'your home (/root) is in use in another tab: here it is read-only' };
  }
  if (reset || handle.getSize() !== size) await fill(handle, image, size);
  const persisted = await navigator.storage.persist?.().catch(() => false);
  return { disk: new OpfsDisk(handle), notice: persisted === false ? 'the browser may clear your home when it is short of space' : '' };
}

let bus = null;

self.onmessage = async ({ data: message }) => {
  try {
    switch (message.kind) {
      case 'open': {
        // The home disk first (vda), then the network card (eth0): each as it can be had.
        const models = [];
        const reply = { kind: 'ready', home: false, readOnly: false, notice: '', homeReason: '', network: '' };
        if (message.home) {
          try {
            const { disk, notice } = await openHome(message.home);
            models.push(new BlockDevice(disk, 'home'));
            Object.assign(reply, { home: true, readOnly: disk.readOnly, notice });
          } catch (error) {
            reply.homeReason = String(error.message ?? error);
          }
        }
        if (message.relay) {
          const { link, reason } = await connectRelay(message.relay);
          if (link) {
            // The relay's frames are its NAT's, checksums made right.
            models.push(new NetDevice(link, parseMac(MAC), 'network card eth0',
              () => self.postMessage({ kind: 'network-lost' }), { checked: true }));
            reply.network = message.relay;
          } else {
            reply.networkReason = reason;
          }
        }
        const name = `network card eth${reply.network ? 1 : 0}`;
        models.push(new NetDevice(new PortLink(message.cluster.port), parseMac(message.cluster.mac), name));
        bus = new Bus(models);
        bus.connect((irq) => self.postMessage({ kind: 'irq', irq }),
          (reason) => self.postMessage({ kind: 'fail', reason }));
        self.postMessage({ ...reply, buffers: bus.buffers, cmdline: bus.cmdline });
        break;
      }
      case 'attach':
        bus.attach(message.memory);
        break;
      case 'virtio':
        bus.handle(message);
        break;
      case 'close':
        bus?.close();
        bus = null;
        self.postMessage({ kind: 'closed' });
        break;
      default:
    }
  } catch (error) {
    self.postMessage({ kind: message.kind === 'open' ? 'unavailable' : 'fail', reason: String(error.message ?? error) });
  }
};
