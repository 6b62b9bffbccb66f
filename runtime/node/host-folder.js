// A folder of the host, shared with the guest over 9p (../9p/server.js):
// Node's synchronous fs calls, and nothing outside the folder. Every path
// is walked from the folder's root one name at a time, and every folder
// on the way must be a real folder, not a symlink: a symlink is a file
// to the guest (which resolves it in its own tree), never followed here.
// Only regular files are opened, never waiting (a FIFO on the host would
// stop the machine's thread).
import {
  closeSync, constants, fstatSync, fsyncSync, ftruncateSync, linkSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readSync, readdirSync, readlinkSync, realpathSync, renameSync, rmdirSync, statSync, statfsSync,
  symlinkSync, unlinkSync, writeSync, chmodSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  L_ACCMODE, L_APPEND, L_CREAT, L_EXCL, L_RDWR, L_TRUNC, L_WRONLY, NineError, errno,
} from '../9p/server.js';

/** Open files at once, at most: a guest cannot take all of the host's descriptors. */
const MAX_OPEN = 1024;

const QID_DIR = 0x80;
const QID_SYMLINK = 0x02;

/** A host error as the errno the guest gets. */
function asNine(error) {
  if (error instanceof NineError) return error;
  if (typeof error?.errno === 'number' && error.errno < 0) return new NineError(-error.errno);
  return new NineError(errno.EIO);
}

/** @implements {import('../9p/server.js').Folder} */
export class HostFolder {
  /** @param {string} root  a folder (the user's: a symlink to it is followed once, here) @param {boolean} readOnly */
  constructor(root, readOnly) {
    this.root = realpathSync(root);
    if (!statSync(this.root).isDirectory()) throw new Error(`${root}: not a folder`);
    this.readOnly = readOnly;
    /** @type {Map<number, number>} open files: handle to file descriptor */
    this.files = new Map();
    this.nextHandle = 1;
    // Every method's host errors become errno replies.
    for (const name of ['attributes', 'open', 'read', 'write', 'close', 'sync', 'list', 'mkdir', 'symlink',
      'readlink', 'rename', 'link', 'remove', 'setattr', 'statfs']) {
      const method = this[name].bind(this);
      this[name] = (...args) => {
        try {
          return method(...args);
        } catch (error) {
          throw asNine(error);
        }
      };
    }
  }

  /** The host path of path; every folder on the way to its last name is a real one. */
  host(path) {
    let at = this.root;
    path.forEach((name, i) => {
      if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
        throw new NineError(errno.EINVAL);
      }
      // The root was checked once; each folder below it here, not followed.
      if (i > 0 && !lstatSync(at).isDirectory()) throw new NineError(errno.ENOTDIR);
      at = join(at, name);
    });
    return at;
  }

  /** The host path of a real folder (not a symlink to one). */
  folder(path) {
    const at = this.host(path);
    if (!lstatSync(at).isDirectory()) throw new NineError(errno.ENOTDIR);
    return at;
  }

  attributes(path) {
    const s = lstatSync(this.host(path), { bigint: true });
    const type = s.isDirectory() ? QID_DIR : s.isSymbolicLink() ? QID_SYMLINK : 0;
    return {
      qid: { type, version: 0, path: s.ino },
      mode: Number(s.mode), nlink: s.nlink, size: s.size, blocks: s.blocks,
      atimeNs: s.atimeNs, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs,
    };
  }

  open(path, flags, mode = 0o644) {
    if (this.files.size >= MAX_OPEN) throw new NineError(errno.EMFILE);
    const at = this.host(path);
    const access = flags & L_ACCMODE;
    let host = (access === L_RDWR ? constants.O_RDWR : access === L_WRONLY ? constants.O_WRONLY : constants.O_RDONLY)
      | constants.O_NOFOLLOW | constants.O_NONBLOCK;
    if (flags & L_TRUNC) host |= constants.O_TRUNC;
    if (flags & L_APPEND) host |= constants.O_APPEND;
    if (flags & L_CREAT) host |= constants.O_CREAT;
    if (flags & L_EXCL) host |= constants.O_EXCL;
    if (!(flags & L_CREAT)) {
      const s = lstatSync(at);
      if (s.isSymbolicLink()) throw new NineError(errno.ELOOP); // as O_NOFOLLOW says
      if (!s.isFile()) throw new NineError(errno.EOPNOTSUPP); // a FIFO or a device of the host
    }
    const fd = openSync(at, host, mode);
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new NineError(errno.EOPNOTSUPP);
    }
    const handle = this.nextHandle++;
    this.files.set(handle, fd);
    return handle;
  }

  fd(handle) {
    const fd = this.files.get(handle);
    if (fd === undefined) throw new NineError(errno.EBADF);
    return fd;
  }

  read(handle, bytes, offset) {
    const fd = this.fd(handle);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(handle, bytes, offset) {
    return writeSync(this.fd(handle), bytes, 0, bytes.length, offset);
  }

  close(handle) {
    const fd = this.files.get(handle);
    this.files.delete(handle);
    if (fd !== undefined) closeSync(fd);
  }

  sync(handle) {
    fsyncSync(this.fd(handle));
  }

  list(path) {
    return readdirSync(this.folder(path));
  }

  mkdir(path, mode) {
    mkdirSync(this.host(path), mode);
  }

  symlink(path, target) {
    symlinkSync(target, this.host(path));
  }

  readlink(path) {
    return readlinkSync(this.host(path));
  }

  rename(from, to) {
    if (!from.length || !to.length) throw new NineError(errno.EBUSY);
    renameSync(this.host(from), this.host(to));
  }

  link(existing, path) {
    linkSync(this.host(existing), this.host(path));
  }

  remove(path, folder) {
    if (!path.length) throw new NineError(errno.EBUSY);
    (folder ? rmdirSync : unlinkSync)(this.host(path));
  }

  setattr(path, { mode, size, atimeNs, mtimeNs }) {
    const at = this.host(path);
    const s = lstatSync(at, { bigint: true });
    if (mode !== undefined && !s.isSymbolicLink()) chmodSync(at, mode);
    if (size !== undefined) {
      if (!s.isFile()) throw new NineError(s.isDirectory() ? errno.EISDIR : errno.EINVAL);
      const fd = openSync(at, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        ftruncateSync(fd, size);
      } finally {
        closeSync(fd);
      }
    }
    if (atimeNs !== undefined || mtimeNs !== undefined) {
      const seconds = (ns) => Number(ns) / 1e9;
      lutimesSync(at, seconds(atimeNs ?? s.atimeNs), seconds(mtimeNs ?? s.mtimeNs));
    }
  }

  statfs() {
    const s = statfsSync(this.root);
    return { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
  }
}
