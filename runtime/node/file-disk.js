// A disk in a file of the host (../disk.js): Node's synchronous reads and
// writes, straight between the file and kernel memory.
import { closeSync, fstatSync, fsyncSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnapshotDisk } from '../disk.js';

/** @implements {import('../disk.js').Disk} */
export class FileDisk {
  /**
   * @param {number} fd  open for reading, and for writing unless readOnly
   * @param {number} size
   * @param {boolean} readOnly
   */
  constructor(fd, size, readOnly) {
    this.fd = fd;
    this.size = size;
    this.readOnly = readOnly;
  }

  /** @param {string} path @param {boolean} readOnly */
  static open(path, readOnly) {
    const fd = openSync(path, readOnly ? 'r' : 'r+');
    return new FileDisk(fd, fstatSync(fd).size, readOnly);
  }

  read(bytes, offset) {
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.fd, bytes, done, bytes.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    bytes.fill(0, done);
  }

  write(bytes, offset) {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
  }

  flush() {
    fsyncSync(this.fd);
  }

  close() {
    closeSync(this.fd);
  }
}

/**
 * The disk in path as the guest sees it: read-write, read-only, or a
 * snapshot whose writes go to a temporary file, gone when the machine stops.
 * @param {string} path @param {'rw'|'ro'|'snapshot'} mode
 */
export function openFileDisk(path, mode) {
  const base = FileDisk.open(path, mode !== 'rw');
  if (mode !== 'snapshot') return base;
  const folder = mkdtempSync(join(tmpdir(), 'linuxwasm-snapshot-'));
  try {
    const file = join(folder, 'writes');
    const fd = openSync(file, 'w+');
    // Unlinked at once: the file is the open descriptor's alone, and goes with it.
    rmSync(file);
    return new SnapshotDisk(base, new FileDisk(fd, base.size, false));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
