// The registers of one virtio-mmio device (version 2, as the virtio 1.2
// specification's section 4.2.2 lists them) and where both sides keep
// them: a SharedArrayBuffer per device, written by the kernel's MMIO
// accesses on the task threads (transport.js) and by the device model on
// the machine's thread (devices.js). Only this file knows the layout.

/** Where the devices are on the kernel's bus: above any kernel memory (1 GiB at most). */
export const MMIO_BASE = 0xf0000000;
/** Each device's window; its configuration space starts at CONFIG. */
export const MMIO_SIZE = 0x1000;
export const CONFIG = 0x100;
export const CONFIG_SIZE = 0x100;
/** Queues a device may have, and the most descriptors in one. */
export const MAX_QUEUES = 8;
export const MAX_QUEUE_SIZE = 1024;

/** Register offsets in the MMIO window. */
export const MAGIC_VALUE = 0x000;
export const VERSION = 0x004;
export const DEVICE_ID = 0x008;
export const VENDOR_ID = 0x00c;
export const DEVICE_FEATURES = 0x010;
export const DEVICE_FEATURES_SEL = 0x014;
export const DRIVER_FEATURES = 0x020;
export const DRIVER_FEATURES_SEL = 0x024;
export const QUEUE_SEL = 0x030;
export const QUEUE_NUM_MAX = 0x034;
export const QUEUE_NUM = 0x038;
export const QUEUE_READY = 0x044;
export const QUEUE_NOTIFY = 0x050;
export const INTERRUPT_STATUS = 0x060;
export const INTERRUPT_ACK = 0x064;
export const STATUS = 0x070;
export const QUEUE_DESC_LOW = 0x080;
export const QUEUE_DESC_HIGH = 0x084;
export const QUEUE_DRIVER_LOW = 0x090;
export const QUEUE_DRIVER_HIGH = 0x094;
export const QUEUE_DEVICE_LOW = 0x0a0;
export const QUEUE_DEVICE_HIGH = 0x0a4;
export const CONFIG_GENERATION = 0x0fc;

export const MAGIC = 0x74726976; // "virt"
export const VENDOR = 0x6d736177; // "wasm"

/** Device status bits. */
export const STATUS_DRIVER_OK = 4;
export const STATUS_NEEDS_RESET = 0x40;

/** Interrupt status bits. */
export const INTERRUPT_USED_BUFFER = 1;
export const INTERRUPT_CONFIG_CHANGE = 2;

/** Feature bits every device of ours offers. */
export const F_VERSION_1 = 32;

/*
 * The shared layout, in 32-bit words. The per-queue words follow the
 * device's own, MAX_QUEUES blocks of QUEUE_WORDS; the configuration
 * space's bytes come last.
 */
const W_STATUS = 0;
const W_INTERRUPT = 1;
const W_DEVICE_FEATURES_SEL = 2;
const W_DRIVER_FEATURES_SEL = 3;
const W_QUEUE_SEL = 4;
const W_GENERATION = 5;
const W_DEVICE_ID = 6;
const W_QUEUES = 7;
const W_DEVICE_FEATURES = 8; // two words
const W_DRIVER_FEATURES = 10; // two words
const W_QUEUE = 16;
const QUEUE_WORDS = 12;
const Q_NUM_MAX = 0;
const Q_NUM = 1;
const Q_READY = 2;
const Q_DESC = 3; // low, high
const Q_DRIVER = 5;
const Q_DEVICE = 7;
const CONFIG_BYTE = (W_QUEUE + MAX_QUEUES * QUEUE_WORDS) * 4;
const BYTES = CONFIG_BYTE + CONFIG_SIZE;

/** The queue register blocks, by the offset of the register of the selected queue. */
const QUEUE_REGISTERS = new Map([
  [QUEUE_NUM_MAX, Q_NUM_MAX], [QUEUE_NUM, Q_NUM], [QUEUE_READY, Q_READY],
  [QUEUE_DESC_LOW, Q_DESC], [QUEUE_DESC_HIGH, Q_DESC + 1],
  [QUEUE_DRIVER_LOW, Q_DRIVER], [QUEUE_DRIVER_HIGH, Q_DRIVER + 1],
  [QUEUE_DEVICE_LOW, Q_DEVICE], [QUEUE_DEVICE_HIGH, Q_DEVICE + 1],
]);

/**
 * Where a queue's three parts are in kernel memory, as the driver set them.
 * @typedef {{size: number, desc: number, driver: number, device: number}} QueueLayout
 */

/** One device's registers over its shared buffer, for either side. */
export class Registers {
  /** @param {SharedArrayBuffer} [buffer]  a new one if not given */
  constructor(buffer = new SharedArrayBuffer(BYTES)) {
    this.buffer = buffer;
    this.words = new Int32Array(buffer);
    this.config = new Uint8Array(buffer, CONFIG_BYTE, CONFIG_SIZE);
  }

  // The device model's side.

  /**
   * @param {number} deviceId  virtio device type (2 for a block device)
   * @param {bigint} features  what the device offers
   * @param {number[]} queueSizes  the most descriptors of each queue
   */
  describe(deviceId, features, queueSizes) {
    this.words[W_DEVICE_ID] = deviceId;
    this.words[W_DEVICE_FEATURES] = Number(features & 0xffffffffn);
    this.words[W_DEVICE_FEATURES + 1] = Number(features >> 32n);
    this.words[W_QUEUES] = queueSizes.length;
    queueSizes.forEach((size, q) => { this.words[W_QUEUE + q * QUEUE_WORDS + Q_NUM_MAX] = size; });
  }

  /** @param {number} offset @param {Uint8Array} bytes */
  setConfig(offset, bytes) {
    this.config.set(bytes, offset);
    Atomics.add(this.words, W_GENERATION, 1);
  }

  /** What the driver accepted of the device's features. */
  driverFeatures() {
    return BigInt(this.words[W_DRIVER_FEATURES] >>> 0) | BigInt(this.words[W_DRIVER_FEATURES + 1] >>> 0) << 32n;
  }

  status() {
    return Atomics.load(this.words, W_STATUS);
  }

  /** The device failed the driver: it must reset the device. */
  needsReset() {
    Atomics.or(this.words, W_STATUS, STATUS_NEEDS_RESET);
    this.interrupt(INTERRUPT_CONFIG_CHANGE);
  }

  /** @param {number} bits */
  interrupt(bits) {
    Atomics.or(this.words, W_INTERRUPT, bits);
  }

  /**
   * Queue q as the driver set it up, or null if it is not ready. The
   * addresses are the driver's: hostile until checked (queue.js).
   * @param {number} q @returns {QueueLayout|null}
   */
  queue(q) {
    const base = W_QUEUE + q * QUEUE_WORDS;
    const w = this.words;
    if (q >= w[W_QUEUES] || !Atomics.load(w, base + Q_READY)) return null;
    const address = (at) => (w[base + at + 1] ? -1 : w[base + at] >>> 0);
    return { size: w[base + Q_NUM], desc: address(Q_DESC), driver: address(Q_DRIVER), device: address(Q_DEVICE) };
  }

  // The driver's side: the kernel's MMIO accesses.

  /** @param {number} offset @param {number} size  1, 2 or 4 */
  read(offset, size) {
    const w = this.words;
    if (offset >= CONFIG) {
      const at = offset - CONFIG;
      if (at + size > CONFIG_SIZE) return 0xffffffff;
      let value = 0;
      for (let i = size - 1; i >= 0; i--) value = value * 256 + this.config[at + i];
      return value;
    }
    if (size !== 4) return 0xffffffff;
    switch (offset) {
      case MAGIC_VALUE: return MAGIC;
      case VERSION: return 2;
      case DEVICE_ID: return w[W_DEVICE_ID];
      case VENDOR_ID: return VENDOR;
      case DEVICE_FEATURES: {
        const sel = w[W_DEVICE_FEATURES_SEL];
        return sel < 2 ? w[W_DEVICE_FEATURES + sel] >>> 0 : 0;
      }
      case INTERRUPT_STATUS: return Atomics.load(w, W_INTERRUPT);
      case STATUS: return Atomics.load(w, W_STATUS);
      case CONFIG_GENERATION: return Atomics.load(w, W_GENERATION);
      default: {
        const register = QUEUE_REGISTERS.get(offset);
        if (register === undefined) return 0xffffffff; // shared memory regions among them: none
        const q = w[W_QUEUE_SEL];
        return q < MAX_QUEUES ? w[W_QUEUE + q * QUEUE_WORDS + register] >>> 0 : 0;
      }
    }
  }

  /**
   * @param {number} offset @param {number} size @param {number} value
   * @returns {'notify'|'status'|null}  what the device model must hear of
   */
  write(offset, size, value) {
    const w = this.words;
    if (size !== 4 || offset >= CONFIG) return null; // no writable configuration fields
    switch (offset) {
      case DEVICE_FEATURES_SEL: w[W_DEVICE_FEATURES_SEL] = value; return null;
      case DRIVER_FEATURES_SEL: w[W_DRIVER_FEATURES_SEL] = value; return null;
      case DRIVER_FEATURES: {
        const sel = w[W_DRIVER_FEATURES_SEL];
        if (sel < 2) w[W_DRIVER_FEATURES + sel] = value & w[W_DEVICE_FEATURES + sel];
        return null;
      }
      case QUEUE_SEL: w[W_QUEUE_SEL] = value; return null;
      case QUEUE_NOTIFY: return 'notify';
      case INTERRUPT_ACK: Atomics.and(w, W_INTERRUPT, ~value); return null;
      case STATUS:
        if (value === 0) this.reset();
        else Atomics.store(w, W_STATUS, value);
        return 'status';
      default: {
        const register = QUEUE_REGISTERS.get(offset);
        const q = w[W_QUEUE_SEL];
        if (register === undefined || register === Q_NUM_MAX || q >= w[W_QUEUES]) return null;
        const base = W_QUEUE + q * QUEUE_WORDS;
        if (register === Q_READY) Atomics.store(w, base + Q_READY, value & 1);
        else w[base + register] = value;
        return null;
      }
    }
  }

  /** What a write of 0 to the status does: the device as it was before the driver came. */
  reset() {
    const w = this.words;
    for (const at of [W_DEVICE_FEATURES_SEL, W_DRIVER_FEATURES_SEL, W_QUEUE_SEL,
      W_DRIVER_FEATURES, W_DRIVER_FEATURES + 1]) w[at] = 0;
    for (let q = 0; q < MAX_QUEUES; q++) {
      const base = W_QUEUE + q * QUEUE_WORDS;
      for (let i = Q_NUM; i < QUEUE_WORDS; i++) w[base + i] = 0;
    }
    Atomics.store(w, W_INTERRUPT, 0);
    Atomics.store(w, W_STATUS, 0);
  }
}
