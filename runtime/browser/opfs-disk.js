// Disks in a browser (../disk.js), for the device worker: a file of the
// Origin Private File System through a sync access handle (a dedicated
// worker's alone, and the file's alone: a second tab cannot open it), and
// a read-only disk over a File, read with FileReaderSync (what a second
// tab gets).

/** @implements {import('../disk.js').Disk} */
export class OpfsDisk {
  /** @param {FileSystemSyncAccessHandle} handle */
  constructor(handle) {
    this.handle = handle;
    this.size = handle.getSize();
    this.readOnly = false;
  }

  read(bytes, offset) {
    // A sync access handle does not take a view of shared memory.
    const copy = new Uint8Array(bytes.length);
    const n = this.handle.read(copy, { at: offset });
    bytes.set(copy.subarray(0, n));
    bytes.fill(0, n);
  }

  write(bytes, offset) {
    this.handle.write(bytes.slice(), { at: offset });
  }

  flush() {
    this.handle.flush();
  }

  close() {
    this.handle.flush();
    this.handle.close();
  }
}

/** @implements {import('../disk.js').Disk} */
export class FileDisk {
  /** @param {File} file */
  constructor(file) {
    this.file = file;
    this.size = file.size;
    this.readOnly = true;
    this.reader = new FileReaderSync();
  }

  read(bytes, offset) {
    const data = new Uint8Array(this.reader.readAsArrayBuffer(this.file.slice(offset, offset + bytes.length)));
    bytes.set(data);
    bytes.fill(0, data.length);
  }

  write() {
    throw new Error('read-only disk');
  }

  flush() {}

  close() {}
}
