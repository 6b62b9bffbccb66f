// The machine's virtio devices, on the machine's thread: each device model
// is registered the same way, gets a window on the bus, an interrupt line
// and its shared registers, and hears of its queues' notifications and
// status changes from the transport (transport.js). A model serves its
// queues here, never on the kernel's task threads.
//
// A device model:
//   name        for messages
//   deviceId    virtio device type
//   features    bigint: what it offers (VERSION_1 is added)
//   queueSizes  the most descriptors of each of its queues
//   config      its configuration space's bytes
//   request(chain, memory)  serve one chain of a queue (queue.js), with the
//                         kernel's memory: the bytes it wrote into the chain
//   reset(), close()
// A model whose buffers wait (a network card's receive buffers wait for
// frames) serves its queues itself instead of request():
//   start(port)   once the kernel's memory exists: port.queue(q) gives a
//                 queue once the driver has it ready (else null),
//                 port.interrupt() says that used buffers are there,
//                 port.fail(error) stops the machine (a VirtioError),
//                 port.memory is the kernel's memory
//   notify(q)     the driver notified queue q

import { IRQ_VIRTIO_FIRST } from '../abi.js';
import { Queue, VirtioError } from './queue.js';
import { F_VERSION_1, INTERRUPT_USED_BUFFER, MMIO_BASE, MMIO_SIZE, Registers, STATUS_DRIVER_OK } from './registers.js';

/** Interrupt lines for devices: 8 to 31 (asm/irq.h). */
export const MAX_DEVICES = 32 - IRQ_VIRTIO_FIRST;

export class Bus {
  /** @param {object[]} models  in bus order: the first block device is vda */
  constructor(models) {
    if (models.length > MAX_DEVICES) throw new Error(`at most ${MAX_DEVICES} devices`);
    this.raiseLine = () => {};
    this.fail = () => {};
    this.devices = models.map((model) => {
      const registers = new Registers();
      registers.describe(model.deviceId, model.features | 1n << BigInt(F_VERSION_1), model.queueSizes);
      registers.setConfig(0, model.config);
      return { model, registers, queues: [] };
    });
    /** @type {Uint8Array|null} */
    this.memory = null;
  }

  /** What the kernel's task threads need: each device's registers. */
  get buffers() {
    return this.devices.map((d) => d.registers.buffer);
  }

  /** The command line that puts the devices on the kernel's bus (virtio_mmio.device=). */
  get cmdline() {
    return this.devices.map((_, i) =>
      `virtio_mmio.device=0x${MMIO_SIZE.toString(16)}@0x${(MMIO_BASE + i * MMIO_SIZE).toString(16)}:${IRQ_VIRTIO_FIRST + i}`,
    ).join(' ');
  }

  /**
   * What the bus tells its machine.
   * @param {(irq: number) => void} raise  raise an interrupt line of the kernel
   * @param {(reason: string) => void} fail  stop the machine, saying why
   */
  connect(raise, fail) {
    this.raiseLine = raise;
    this.fail = fail;
  }

  /** @param {WebAssembly.Memory} memory  the kernel's, once it exists */
  attach(memory) {
    this.memory = new Uint8Array(memory.buffer);
    this.kernelMemory = memory;
    this.devices.forEach((device, index) => device.model.start?.(this.port(index, device)));
  }

  /** What a model that serves its own queues gets (see the top of this file). */
  port(index, device) {
    return {
      memory: this.memory,
      queue: (q) => this.queue(device, q),
      interrupt: () => {
        device.registers.interrupt(INTERRUPT_USED_BUFFER);
        this.raiseLine(IRQ_VIRTIO_FIRST + index);
      },
      fail: (error) => this.broken(device, error),
    };
  }

  /** Queue q of a device once its driver is ready, checked when first used; else null. */
  queue(device, q) {
    if (!(device.registers.status() & STATUS_DRIVER_OK)) return null;
    if (!device.queues[q]) {
      const layout = device.registers.queue(q);
      if (!layout) return null;
      device.queues[q] = new Queue(this.kernelMemory, layout, device.model.queueSizes[q]);
    }
    return device.queues[q];
  }

  /** A message of the transport: {device, event: 'notify', queue} or {device, event: 'status'}. */
  handle({ device: index, event, queue }) {
    const device = this.devices[index];
    if (!device || !this.memory) return;
    try {
      if (event === 'status') {
        if (device.registers.status() === 0) {
          device.queues = [];
          device.model.reset();
        }
        return;
      }
      if (event === 'notify') this.notify(index, device, queue);
    } catch (error) {
      this.broken(device, error);
    }
  }

  broken(device, error) {
    if (!(error instanceof VirtioError)) throw error;
    device.registers.needsReset();
    this.fail(`the guest broke the virtio protocol (${device.model.name}): ${error.message}`);
  }

  notify(index, device, q) {
    if (!(device.registers.status() & STATUS_DRIVER_OK)) return;
    if (q >= device.model.queueSizes.length) throw new VirtioError(`notified queue ${q}, which it does not have`);
    const queue = this.queue(device, q);
    if (!queue) throw new VirtioError(`notified queue ${q} before it was ready`);
    if (device.model.notify) {
      device.model.notify(q);
      return;
    }
    let served = false;
    for (let chain; (chain = queue.take()); served = true) {
      queue.give(chain.head, device.model.request(chain, this.memory));
    }
    if (served && queue.wantsInterrupt()) {
      device.registers.interrupt(INTERRUPT_USED_BUFFER);
      this.raiseLine(IRQ_VIRTIO_FIRST + index);
    }
  }

  close() {
    for (const { model } of this.devices) model.close();
  }
}
