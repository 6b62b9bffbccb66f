// The kernel's side of the virtio transport: its MMIO accesses
// (arch/wasm/include/asm/io.h) on whichever thread runs the kernel. A
// register access is answered from the device's shared registers
// (registers.js) at once; what the device model must act on, a queue
// notification or a status change, goes to the machine's thread as a
// message, so that the device's I/O never runs on the task that asked.

import { MMIO_BASE, MMIO_SIZE, Registers } from './registers.js';

export class Transport {
  /**
   * @param {SharedArrayBuffer[]} buffers  each device's registers, in bus order
   * @param {(message: object) => void} post  to the machine
   */
  constructor(buffers, post) {
    this.devices = buffers.map((buffer) => new Registers(buffer));
    this.post = post;
  }

  /** The device at a bus address and the offset in its window, or null. */
  decode(address) {
    const index = Math.floor((address - MMIO_BASE) / MMIO_SIZE);
    const device = address >= MMIO_BASE ? this.devices[index] : undefined;
    return device ? { index, device, offset: (address - MMIO_BASE) % MMIO_SIZE } : null;
  }

  /** @param {number} address @param {number} size */
  read(address, size) {
    const at = this.decode(address);
    return at ? at.device.read(at.offset, size) : 0xffffffff;
  }

  /** @param {number} address @param {number} size @param {number} value */
  write(address, size, value) {
    const at = this.decode(address);
    if (!at) return;
    const event = at.device.write(at.offset, size, value >>> 0);
    if (event === 'notify') this.post({ kind: 'virtio', device: at.index, event, queue: value >>> 0 });
    else if (event) this.post({ kind: 'virtio', device: at.index, event });
  }
}
