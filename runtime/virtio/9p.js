// virtio-9p (the 9P transport of the virtio 1.2 specification, section
// 5.15, as QEMU and Linux's 9pnet_virtio have it): each chain is one
// request, the buffers the device reads, and room for the reply in those
// it writes. The file server is ../9p/server.js.

import { MAX_MESSAGE } from '../9p/server.js';
import { VirtioError } from './queue.js';

export const NINEP_DEVICE_ID = 9;
const F_MOUNT_TAG = 0n;
const QUEUE_SIZE = 128;
const MAX_TAG = 32;

export class NinePDevice {
  /**
   * @param {{handle(request: Uint8Array, room: number): Uint8Array, reset(): void, close(): void}} server
   *   the file server: ours (../9p/server.js) or another (node/diod.js)
   * @param {string} tag  the name the guest mounts it by (mount -t 9p TAG DIR)
   */
  constructor(server, tag) {
    const bytes = new TextEncoder().encode(tag);
    if (!bytes.length || bytes.length > MAX_TAG) throw new Error(`9p tag ${tag}: 1 to ${MAX_TAG} bytes`);
    this.server = server;
    this.name = `shared folder ${tag}`;
    this.deviceId = NINEP_DEVICE_ID;
    this.features = 1n << F_MOUNT_TAG;
    this.queueSizes = [QUEUE_SIZE];
    this.config = new Uint8Array(2 + bytes.length);
    new DataView(this.config.buffer).setUint16(0, bytes.length, true);
    this.config.set(bytes, 2);
  }

  /** One request: its reply written into the chain; returns the reply's length. */
  request({ readable, writable }, memory) {
    const length = readable.reduce((sum, b) => sum + b.length, 0);
    const room = writable.reduce((sum, b) => sum + b.length, 0);
    if (length < 7 || length > MAX_MESSAGE || room < 11) {
      throw new VirtioError('a 9p request without a message or without room for the reply');
    }
    const request = new Uint8Array(length);
    let at = 0;
    for (const b of readable) {
      request.set(memory.subarray(b.address, b.address + b.length), at);
      at += b.length;
    }
    // A message's own size may be less than its buffers: the rest is padding.
    const size = new DataView(request.buffer).getUint32(0, true);
    const reply = this.server.handle(request.subarray(0, Math.min(size, length)), room);
    let done = 0;
    for (const b of writable) {
      const n = Math.min(b.length, reply.length - done);
      memory.set(reply.subarray(done, done + n), b.address);
      done += n;
    }
    return reply.length;
  }

  reset() {
    this.server.reset();
  }

  close() {
    this.server.close();
  }
}
