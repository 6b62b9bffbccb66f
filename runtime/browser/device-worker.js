// The page's devices, in a dedicated worker of their own: OPFS's sync
// access handles exist only there, and a device's I/O must not run on the
// page's thread or the kernel's (../virtio/bus.js). The page side is
// devices.js. The user's home is an ext4 disk in OPFS ("home.img"), made
// from the site's empty image the first time; if another tab holds it,
// this tab gets it read-only, as it was when that tab last wrote it.
import { BlockDevice } from '../virtio/block.js';
import { Bus } from '../virtio/bus.js';
import { FileDisk, OpfsDisk } from './opfs-disk.js';

const HOME = 'home.img';
const BLOCK = 65536;

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
        const { disk, notice } = await openHome(message.home);
        bus = new Bus([new BlockDevice(disk, 'home')]);
        bus.connect((irq) => self.postMessage({ kind: 'irq', irq }),
          (reason) => self.postMessage({ kind: 'fail', reason }));
        self.postMessage({ kind: 'ready', buffers: bus.buffers, cmdline: bus.cmdline, readOnly: disk.readOnly, notice });
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
