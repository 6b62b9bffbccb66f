// A link (../network/link.js) over a stream socket that the host hands
// us as a file descriptor: each frame is a 32-bit big-endian length and
// the frame, as passt and QEMU's stream network backend have it. The far
// end is passt (the NAT) or src/linuxwasm/switch.py.
//
// The far end is not trusted more than the guest: a length above
// MAX_FRAME ends the link. What waits to be written is bounded: past
// BUSY_BYTES the link is busy and the card waits for the drain.

import { Socket } from 'node:net';
import { MAX_FRAME } from '../virtio/net.js';

const BUSY_BYTES = 1024 * 1024;

export class StreamLink {
  /**
   * @param {number} fd  a connected stream socket
   * @param {string} name  for messages
   */
  constructor(fd, name) {
    this.name = name;
    this.onFrame = () => {};
    this.onDrain = () => {};
    this.onClose = () => {};
    this.socket = new Socket({ fd, readable: true, writable: true });
    this.buffered = [];
    this.bufferedBytes = 0;
    this.paused = false;
    this.closed = false;
    this.socket.on('data', (chunk) => this.receive(chunk));
    this.socket.on('drain', () => this.onDrain());
    this.socket.on('error', (error) => this.end(`${name}: ${error.message}`));
    this.socket.on('end', () => this.end(`${name}: the far end closed the link`));
  }

  get busy() {
    return this.socket.writableLength > BUSY_BYTES;
  }

  send(frame) {
    if (this.closed) return;
    const bytes = Buffer.allocUnsafe(4 + frame.length);
    bytes.writeUInt32BE(frame.length, 0);
    bytes.set(frame, 4);
    this.socket.write(bytes);
  }

  /** Split what arrives into frames. */
  receive(chunk) {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    this.deliver();
  }

  deliver() {
    while (!this.paused && this.bufferedBytes >= 4) {
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (length > MAX_FRAME) {
        this.end(`${this.name}: the far end sent a frame of ${length} bytes`);
        return;
      }
      if (this.bufferedBytes < 4 + length) return;
      const frame = this.peek(4 + length).subarray(4);
      this.consume(4 + length);
      this.onFrame(new Uint8Array(frame.buffer, frame.byteOffset, frame.length));
    }
  }

  /** The first n buffered bytes as one buffer (the chunks they span joined, only when they span more than one). */
  peek(n) {
    if (this.buffered[0].length < n) {
      let count = 0;
      for (let have = 0; have < n; count++) have += this.buffered[count].length;
      this.buffered.splice(0, count, Buffer.concat(this.buffered.slice(0, count)));
    }
    return this.buffered[0].subarray(0, n);
  }

  consume(n) {
    this.buffered[0] = this.buffered[0].subarray(n);
    if (!this.buffered[0].length) this.buffered.shift();
    this.bufferedBytes -= n;
  }

  pause() {
    this.paused = true;
    this.socket.pause();
  }

  resume() {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.deliver();
    if (!this.paused) this.socket.resume();
  }

  end(reason) {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.onClose(reason);
  }

  close() {
    this.closed = true;
    this.socket.destroy();
  }
}
