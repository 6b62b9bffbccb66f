// What a disk's bytes live in, behind one small interface (a file under
// Node, OPFS or IndexedDB in a browser, memory), and the snapshot that
// keeps a disk's writes apart from it.

/**
 * A disk's backend: synchronous, of a fixed size, called only on the
 * machine's thread (virtio/block.js). read() fills the whole of bytes
 * (zeros past the end of what the backend holds).
 * @typedef {object} Disk
 * @property {number} size      bytes
 * @property {boolean} readOnly
 * @property {(bytes: Uint8Array, offset: number) => void} read
 * @property {(bytes: Uint8Array, offset: number) => void} write
 * @property {() => void} flush  what was written is durable
 * @property {() => void} close
 */

/**
 * A disk in memory: the scratch of a snapshot where there is no file to
 * hold it, and a disk for tests.
 * @implements {Disk}
 */
export class MemoryDisk {
  /** @param {number} size @param {boolean} [readOnly] */
  constructor(size, readOnly = false) {
    this.bytes = new Uint8Array(size);
    this.size = size;
    this.readOnly = readOnly;
  }

  read(bytes, offset) {
    bytes.set(this.bytes.subarray(offset, offset + bytes.length));
    bytes.fill(0, Math.max(0, this.size - offset));
  }

  write(bytes, offset) {
    this.bytes.set(bytes, offset);
  }

  flush() {}

  close() {}
}

/** The piece a snapshot copies at a time. */
const CHUNK = 4096;

/**
 * A disk whose writes go to a scratch disk, chunk by chunk as they come,
 * and whose reads come from the scratch for the chunks written and from
 * the base for the rest: the base is never written.
 * @implements {Disk}
 */
export class SnapshotDisk {
  /** @param {Disk} base  @param {Disk} scratch  as large as base, its contents unused */
  constructor(base, scratch) {
    this.base = base;
    this.scratch = scratch;
    this.size = base.size;
    this.readOnly = false;
    this.copied = new Uint8Array(Math.ceil(base.size / CHUNK / 8));
  }

  isCopied(chunk) {
    return (this.copied[chunk >> 3] >> (chunk & 7)) & 1;
  }

  /** Call piece(from, to, chunk) for each chunk's part of [offset, offset + length). */
  static pieces(offset, length, piece) {
    for (let at = offset; at < offset + length;) {
      const chunk = Math.floor(at / CHUNK);
      const end = Math.min(offset + length, (chunk + 1) * CHUNK);
      piece(at, end, chunk);
      at = end;
    }
  }

  read(bytes, offset) {
    SnapshotDisk.pieces(offset, bytes.length, (from, to, chunk) => {
      const part = bytes.subarray(from - offset, to - offset);
      (this.isCopied(chunk) ? this.scratch : this.base).read(part, from);
    });
  }

  write(bytes, offset) {
    SnapshotDisk.pieces(offset, bytes.length, (from, to, chunk) => {
      if (!this.isCopied(chunk) && to - from < CHUNK) {
        // A part of a chunk: the rest of it comes from the base first.
        const start = chunk * CHUNK;
        const whole = new Uint8Array(Math.min(CHUNK, this.size - start));
        this.base.read(whole, start);
        this.scratch.write(whole, start);
      }
      this.scratch.write(bytes.subarray(from - offset, to - offset), from);
      this.copied[chunk >> 3] |= 1 << (chunk & 7);
    });
  }

  flush() {}

  close() {
    this.scratch.close();
    this.base.close();
  }
}
