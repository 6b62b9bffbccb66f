// A split virtqueue, the device's side (virtio 1.2, section 2.7): the
// driver's descriptor table and available ring, and the used ring the
// device fills, all in kernel memory. Everything in them is the guest's
// and hostile until checked: every index, address, length and chain is
// bounded here, and a breach is a VirtioError, which stops the machine.

import { MAX_QUEUE_SIZE } from './registers.js';

/** The guest broke the virtio protocol; the message says how. */
export class VirtioError extends Error {}

const DESC_F_NEXT = 1;
const DESC_F_WRITE = 2;
const AVAIL_F_NO_INTERRUPT = 1;
const DESCRIPTOR = 16;

/** The most bytes one chain may describe: far above a block request's (queue.js callers bound theirs). */
export const MAX_CHAIN_BYTES = 64 * 1024 * 1024;

/** @typedef {{address: number, length: number}} Buffer  a piece of kernel memory */

/**
 * One request of the driver: the buffers the device reads, then those it
 * writes, and the head descriptor that names it in the used ring.
 * @typedef {{head: number, readable: Buffer[], writable: Buffer[]}} Chain
 */

export class Queue {
  /**
   * @param {WebAssembly.Memory} memory  the kernel's, which never grows
   * @param {import('./registers.js').QueueLayout} layout
   * @param {number} maxSize  the device's most descriptors for this queue
   */
  constructor(memory, { size, desc, driver, device }, maxSize) {
    const bytes = memory.buffer.byteLength;
    const inside = (address, length, align) => address >= 0 && address % align === 0 && address + length <= bytes;
    if (!(size > 0 && size <= Math.min(maxSize, MAX_QUEUE_SIZE) && (size & (size - 1)) === 0)) {
      throw new VirtioError(`queue size ${size} is not a power of two up to ${maxSize}`);
    }
    if (!inside(desc, DESCRIPTOR * size, 16) || !inside(driver, 6 + 2 * size, 2) || !inside(device, 6 + 8 * size, 4)) {
      throw new VirtioError('a ring lies outside kernel memory or is misaligned');
    }
    this.memoryBytes = bytes;
    this.size = size;
    this.desc = desc;
    this.driver = driver;
    this.device = device;
    this.u16 = new Uint16Array(memory.buffer);
    this.u32 = new Uint32Array(memory.buffer);
    /** The next available ring entry the device takes. */
    this.nextAvailable = 0;
  }

  /** The next chain the driver made available, or null if there is none. @returns {Chain|null} */
  take() {
    const available = Atomics.load(this.u16, (this.driver + 2) >> 1);
    if (available === this.nextAvailable) return null;
    if (((available - this.nextAvailable) & 0xffff) > this.size) {
      throw new VirtioError('the driver made more buffers available than the queue holds');
    }
    const slot = this.nextAvailable % this.size;
    this.nextAvailable = (this.nextAvailable + 1) & 0xffff;
    const head = this.u16[(this.driver + 4 + 2 * slot) >> 1];
    return { head, ...this.chain(head) };
  }

  /** The buffers of the chain that starts at descriptor head. */
  chain(head) {
    const readable = [];
    const writable = [];
    let total = 0;
    let index = head;
    for (let count = 1; ; count++) {
      if (index >= this.size) throw new VirtioError(`descriptor ${index} is past the queue's ${this.size}`);
      if (count > this.size) throw new VirtioError('a descriptor chain loops');
      const word = (this.desc + DESCRIPTOR * index) >> 2;
      const address = this.u32[word];
      const length = this.u32[word + 2];
      const flags = this.u16[(word + 3) * 2];
      const next = this.u16[(word + 3) * 2 + 1];
      if (this.u32[word + 1] !== 0 || address + length > this.memoryBytes) {
        throw new VirtioError('a buffer lies outside kernel memory');
      }
      total += length;
      if (total > MAX_CHAIN_BYTES) throw new VirtioError(`a descriptor chain holds more than ${MAX_CHAIN_BYTES} bytes`);
      if (flags & DESC_F_WRITE) writable.push({ address, length });
      else if (writable.length) throw new VirtioError('a readable buffer follows a writable one');
      else readable.push({ address, length });
      if (!(flags & DESC_F_NEXT)) return { readable, writable };
      index = next;
    }
  }

  /** Give a chain back to the driver, with how many bytes the device wrote into it. */
  give(head, written) {
    this.giveAll([[head, written]]);
  }

  /**
   * Give chains back at once: the driver sees all of them or none (a
   * frame over several receive buffers must reach it whole).
   * @param {[number, number][]} chains  each chain's head and the bytes written into it
   */
  giveAll(chains) {
    const index = (this.device + 2) >> 1;
    const used = this.u16[index];
    chains.forEach(([head, written], i) => {
      const entry = (this.device + 4 + 8 * ((used + i) % this.size)) >> 2;
      this.u32[entry] = head;
      this.u32[entry + 1] = written;
    });
    Atomics.store(this.u16, index, (used + chains.length) & 0xffff);
  }

  /** Whether the driver wants an interrupt for the chains given back. */
  wantsInterrupt() {
    return !(Atomics.load(this.u16, this.driver >> 1) & AVAIL_F_NO_INTERRUPT);
  }
}
