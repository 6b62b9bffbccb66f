// virtio-net (virtio 1.2, section 5.1): an Ethernet card whose cable is a
// link (../network/link.js): the frames the guest sends go to
// link.send(), and those that come from the link wait in the card until
// the guest has receive buffers for them. Receive buffers are mergeable
// (VIRTIO_NET_F_MRG_RXBUF), so a frame of any size up to MAX_FRAME
// spreads over as many as it needs and the MTU can be 64 KiB; no
// segmentation offload, so each frame is whole. The guest checks every
// checksum, but those of a NAT's frames, which the NAT made
// (VIRTIO_NET_F_GUEST_CSUM, DATA_VALID).
//
// Everything the guest puts in the queues is checked (queue.js); frames
// it sends that no Ethernet card could send are dropped and counted.
// What waits here is bounded: past PENDING_BYTES of received frames the
// link is paused (past twice that, frames are dropped), and while the
// link is busy the guest's frames stay in its transmit queue (the guest's
// stack then waits). A link that is lost resets the guest's TCP
// connections through it (../network/tcp-resets.js): a broken connection,
// not a hang.

import { TcpResets } from '../network/tcp-resets.js';
import { VirtioError } from './queue.js';

export const NET_DEVICE_ID = 1;
const F_GUEST_CSUM = 1n;
const F_MAC = 5n;
const F_MRG_RXBUF = 15n;
const F_STATUS = 16n;
const STATUS_LINK_UP = 1;

const RX = 0;
const TX = 1;
const QUEUE_SIZE = 256;
/** struct virtio_net_hdr_v1, before every frame both ways; flags at 0, num_buffers at 10. */
const HEADER = 12;
const NUM_BUFFERS = 10;
const HDR_F_DATA_VALID = 2;
const ETHERNET_HEADER = 14;
/** An Ethernet header and the largest IP packet. */
export const MAX_FRAME = ETHERNET_HEADER + 65535;
const PENDING_BYTES = 4 * 1024 * 1024;

export class NetDevice {
  /**
   * @param {import('../network/link.js').Link} link  the other end of the cable
   * @param {Uint8Array} mac  the card's address
   * @param {string} name  for messages ("network card eth0")
   * @param {(reason: string) => void} [onLost]  the link is gone: its far end said why
   * @param {{checked?: boolean}} [options]  checked: the link's frames have right checksums
   *   (a NAT's, which makes them): the guest need not check them again
   */
  constructor(link, mac, name, onLost = () => {}, { checked = false } = {}) {
    if (mac.length !== 6) throw new Error('a MAC address has 6 bytes');
    this.link = link;
    this.name = name;
    this.deviceId = NET_DEVICE_ID;
    this.features = 1n << F_MAC | 1n << F_MRG_RXBUF | 1n << F_STATUS | (checked ? 1n << F_GUEST_CSUM : 0n);
    this.checked = checked;
    this.queueSizes = [QUEUE_SIZE, QUEUE_SIZE];
    this.config = new Uint8Array(8);
    this.config.set(mac, 0);
    new DataView(this.config.buffer).setUint16(6, STATUS_LINK_UP, true);
    /** Frames from the link, oldest first, and their bytes. @type {Uint8Array[]} */
    this.pending = [];
    this.pendingBytes = 0;
    /** Receive chains taken from the queue that the next frame has not filled yet. */
    this.held = [];
    this.heldBytes = 0;
    this.dropped = 0;
    this.port = null;
    this.resets = new TcpResets();
    this.onLost = onLost;
  }

  start(port) {
    this.port = port;
    this.link.onFrame = (frame) => this.received(frame);
    this.link.onDrain = () => this.guarded(() => this.transmit());
    this.link.onClose = (reason) => {
      for (const reset of this.resets.resets()) this.received(reset);
      this.onLost(reason);
    };
  }

  notify(q) {
    if (q === RX) this.deliver();
    else if (q === TX) this.transmit();
  }

  /** Work begun by the link rather than by the guest: a breach stops the machine all the same. */
  guarded(work) {
    try {
      work();
    } catch (error) {
      this.port.fail(error);
    }
  }

  received(frame) {
    // Until the guest's driver is up there is no one to hear: the frame
    // is lost, as on a card that is down.
    if (!this.port?.queue(RX)) return;
    // A link delivers a little after it is paused; past twice the bound
    // frames are dropped, as a card's full ring drops them.
    if (frame.length < ETHERNET_HEADER || frame.length > MAX_FRAME ||
        this.pendingBytes + frame.length > 2 * PENDING_BYTES) {
      this.dropped++;
      return;
    }
    this.resets.seen(frame);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pendingBytes > PENDING_BYTES) this.link.pause();
    this.guarded(() => this.deliver());
  }

  /** Frames into the guest's receive buffers, as many as there are buffers for. */
  deliver() {
    const queue = this.port.queue(RX);
    if (!queue) return;
    const memory = this.port.memory;
    let given = false;
    while (this.pending.length) {
      const frame = this.pending[0];
      const needed = HEADER + frame.length;
      for (let chain; this.heldBytes < needed && (chain = queue.take());) {
        if (chain.readable.length) throw new VirtioError('a receive buffer is not writable');
        // The first buffer of a frame holds its header (and the count of
        // buffers in it): the driver posts none smaller.
        if (!chain.writable.length || chain.writable[0].length < HEADER) {
          throw new VirtioError('a receive buffer is smaller than a header');
        }
        this.held.push(chain);
        this.heldBytes += chain.writable.reduce((sum, b) => sum + b.length, 0);
      }
      if (this.heldBytes < needed) break;
      this.pending.shift();
      this.pendingBytes -= frame.length;
      this.fill(queue, frame, memory);
      given = true;
    }
    if (given && queue.wantsInterrupt()) this.port.interrupt();
    if (this.pendingBytes <= PENDING_BYTES / 2) this.link.resume();
  }

  /**
   * One frame, with its header, across the held chains it needs, which are
   * given back together: the driver reads the count of buffers from the
   * header as soon as it sees the first, so the count is written first and
   * the last buffer is there as soon as the first is.
   */
  fill(queue, frame, memory) {
    const total = HEADER + frame.length;
    let chains = 0;
    for (let room = 0; room < total; chains++) {
      room += this.held[chains].writable.reduce((sum, b) => sum + b.length, 0);
    }
    const header = new Uint8Array(HEADER);
    if (this.checked) header[0] = HDR_F_DATA_VALID;
    header[NUM_BUFFERS] = chains & 0xff;
    header[NUM_BUFFERS + 1] = chains >> 8;
    // Byte `at` of header-then-frame, n bytes of it, into kernel memory at address.
    const put = (at, n, address) => {
      const fromHeader = Math.max(0, Math.min(n, HEADER - at));
      if (fromHeader) memory.set(header.subarray(at, at + fromHeader), address);
      if (n > fromHeader) {
        const start = at + fromHeader - HEADER;
        memory.set(frame.subarray(start, start + n - fromHeader), address + fromHeader);
      }
    };
    const given = [];
    let done = 0;
    for (const chain of this.held.splice(0, chains)) {
      let written = 0;
      for (const b of chain.writable) {
        const n = Math.min(b.length, total - done);
        put(done, n, b.address);
        done += n;
        written += n;
        this.heldBytes -= b.length;
      }
      given.push([chain.head, written]);
    }
    queue.giveAll(given);
  }

  /** The guest's frames to the link, until it is busy. */
  transmit() {
    const queue = this.port.queue(TX);
    if (!queue) return;
    const memory = this.port.memory;
    let given = false;
    for (let chain; !this.link.busy && (chain = queue.take());) {
      if (chain.writable.length) throw new VirtioError('a transmit buffer is writable');
      const length = chain.readable.reduce((sum, b) => sum + b.length, 0);
      if (length < HEADER) throw new VirtioError('a transmitted frame has no header');
      const frameLength = length - HEADER;
      if (frameLength < ETHERNET_HEADER || frameLength > MAX_FRAME) {
        this.dropped++;
      } else {
        const bytes = new Uint8Array(length);
        let at = 0;
        for (const b of chain.readable) {
          bytes.set(memory.subarray(b.address, b.address + b.length), at);
          at += b.length;
        }
        this.link.send(bytes.subarray(HEADER));
      }
      queue.give(chain.head, 0);
      given = true;
    }
    if (given && queue.wantsInterrupt()) this.port.interrupt();
  }

  reset() {
    this.pending = [];
    this.pendingBytes = 0;
    this.held = [];
    this.heldBytes = 0;
    this.link.resume();
  }

  close() {
    this.link.close();
  }
}
