// virtio-blk (virtio 1.2, section 5.2): a disk over a backend of fixed
// size (disk.js). Reads, writes and flushes; a read-only backend is
// offered read-only, and a write to it fails all the same.

import { VirtioError } from './queue.js';

export const BLOCK_DEVICE_ID = 2;
const F_SEG_MAX = 2n;
const F_RO = 5n;
const F_FLUSH = 9n;
const F_TOPOLOGY = 10n;

const T_IN = 0;
const T_OUT = 1;
const T_FLUSH = 4;
const T_GET_ID = 8;
const S_OK = 0;
const S_IOERR = 1;
const S_UNSUPP = 2;

const SECTOR = 512;
const OPTIMAL_SECTORS = 2048;
const QUEUE_SIZE = 256;
const HEADER = 16;
const ID_BYTES = 20;

export class BlockDevice {
  /**
   * @param {import('../disk.js').Disk} disk
   * @param {string} serial  what the guest reads as the disk's id (/sys/block/vda/serial)
   */
  constructor(disk, serial) {
    this.disk = disk;
    this.name = `block device ${serial}`;
    this.serial = new TextEncoder().encode(serial).subarray(0, ID_BYTES);
    this.deviceId = BLOCK_DEVICE_ID;
    this.features = 1n << F_SEG_MAX | 1n << F_FLUSH | 1n << F_TOPOLOGY | (disk.readOnly ? 1n << F_RO : 0n);
    this.queueSizes = [QUEUE_SIZE];
    this.sectors = Math.floor(disk.size / SECTOR);
    const config = new DataView(new ArrayBuffer(32));
    config.setBigUint64(0, BigInt(this.sectors), true); // capacity
    config.setUint32(12, QUEUE_SIZE - 2, true); // seg_max: all but the header and the status
    // Topology: an optimal request of 1 MiB, which makes the kernel read
    // ahead 2 MiB at a time (a request costs a round trip to the host).
    config.setUint32(28, OPTIMAL_SECTORS, true);
    this.config = new Uint8Array(config.buffer);
  }

  /** One request; returns the bytes written into its buffers. */
  request({ readable, writable }, memory) {
    const status = writable.at(-1);
    if (!readable.length || readable[0].length < HEADER || !status || status.length < 1) {
      throw new VirtioError('a block request has no header or no status byte');
    }
    const header = new DataView(memory.buffer, readable[0].address, HEADER);
    const type = header.getUint32(0, true);
    const sector = Number(header.getBigUint64(8, true));
    // Data after the header, in the header's own buffer if it is longer.
    const data = readable[0].length > HEADER
      ? [{ address: readable[0].address + HEADER, length: readable[0].length - HEADER }, ...readable.slice(1)]
      : readable.slice(1);
    const into = writable.slice(0, -1);
    const bytesOf = (buffers) => buffers.reduce((sum, b) => sum + b.length, 0);
    let result = S_OK;
    let written = 0;
    try {
      switch (type) {
        case T_IN:
          if (!this.fits(sector, bytesOf(into))) result = S_IOERR;
          else written = this.transfer(into, sector, memory, (bytes, offset) => this.disk.read(bytes, offset));
          break;
        case T_OUT:
          if (this.disk.readOnly || !this.fits(sector, bytesOf(data))) result = S_IOERR;
          else this.transfer(data, sector, memory, (bytes, offset) => this.disk.write(bytes, offset));
          break;
        case T_FLUSH:
          this.disk.flush();
          break;
        case T_GET_ID: {
          const id = new Uint8Array(ID_BYTES);
          id.set(this.serial);
          for (const b of into) {
            const n = Math.min(b.length, ID_BYTES - written);
            memory.set(id.subarray(written, written + n), b.address);
            written += n;
          }
          break;
        }
        default:
          result = S_UNSUPP;
      }
    } catch {
      // The backend failed (the host's disk is full, say): the guest sees an I/O error.
      result = S_IOERR;
    }
    memory[status.address + status.length - 1] = result;
    return written + 1;
  }

  fits(sector, length) {
    return length % SECTOR === 0 && sector + length / SECTOR <= this.sectors;
  }

  transfer(buffers, sector, memory, io) {
    let offset = sector * SECTOR;
    for (const { address, length } of buffers) {
      io(memory.subarray(address, address + length), offset);
      offset += length;
    }
    return offset - sector * SECTOR;
  }

  reset() {}

  close() {
    this.disk.close();
  }
}
