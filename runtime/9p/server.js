// A 9P2000.L file server (the protocol of Linux's v9fs, as
// Documentation/filesystems/9p.rst and the diod protocol notes give it)
// over a folder backend: one request in, one reply out, synchronously.
// The requests are the guest's: every size, count, name and fid is
// checked here, and a bad one gets an error reply, never an exception.
// What the guest may reach is the backend's to bound (node/host-folder.js
// keeps it inside the shared folder).

/** Error numbers as Linux has them, for Rlerror. */
export const errno = {
  EPERM: 1, ENOENT: 2, EIO: 5, EBADF: 9, ENOMEM: 12, EACCES: 13, EEXIST: 17, ENOTDIR: 20, EISDIR: 21,
  EBUSY: 16, EINVAL: 22, EMFILE: 24, EROFS: 30, ENAMETOOLONG: 36, ENOSYS: 38, ELOOP: 40, EPROTO: 71, EOPNOTSUPP: 95,
};

const T = {
  statfs: 8, lopen: 12, lcreate: 14, symlink: 16, mknod: 18, rename: 20, readlink: 22, getattr: 24, setattr: 26,
  xattrwalk: 30, xattrcreate: 32, readdir: 40, fsync: 50, lock: 52, getlock: 54, link: 70, mkdir: 72,
  renameat: 74, unlinkat: 76, version: 100, auth: 102, attach: 104, flush: 108, walk: 110, read: 116,
  write: 118, clunk: 120, remove: 122,
};
const RLERROR = 7;

/** The most this server takes in one message; the guest's msize is at most this. */
export const MAX_MESSAGE = 512 * 1024;
/** Reply header (size, type, tag) and read/readdir count: what a data reply adds to its data. */
const IO_HEADER = 4 + 1 + 2 + 4;
const MAX_FIDS = 65536;
const MAX_NAME = 255;
const MAX_WALK = 16;
const AT_REMOVEDIR = 0x200;

/** Thrown by a decoder or a handler: the reply is Rlerror with this number. */
export class NineError extends Error {
  /** @param {number} code */
  constructor(code) {
    super(`9p error ${code}`);
    this.code = code;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads a request's fields in order; running past the end is EPROTO. */
class Reader {
  /** @param {Uint8Array} bytes */
  constructor(bytes) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.bytes = bytes;
    this.at = 0;
  }

  need(n) {
    if (this.at + n > this.bytes.length) throw new NineError(errno.EPROTO);
    const at = this.at;
    this.at += n;
    return at;
  }

  u8() { return this.view.getUint8(this.need(1)); }
  u16() { return this.view.getUint16(this.need(2), true); }
  u32() { return this.view.getUint32(this.need(4), true); }
  u64() { return Number(this.view.getBigUint64(this.need(8), true)); }
  str() {
    const n = this.u16();
    return decoder.decode(this.bytes.subarray(this.need(n), this.at));
  }
  data(n) { return this.bytes.subarray(this.need(n), this.at); }
}

/** Builds a reply (its size field filled in at the end), or with no type a plain run of fields. */
class Writer {
  /** @param {number} [type] @param {number} [tag] */
  constructor(type, tag) {
    this.parts = [];
    this.length = 0;
    if (type !== undefined) this.u32(0).u8(type).u16(tag);
  }

  put(n, set) {
    const bytes = new Uint8Array(n);
    set(new DataView(bytes.buffer));
    this.parts.push(bytes);
    this.length += n;
    return this;
  }

  u8(v) { return this.put(1, (d) => d.setUint8(0, v)); }
  u16(v) { return this.put(2, (d) => d.setUint16(0, v, true)); }
  u32(v) { return this.put(4, (d) => d.setUint32(0, v >>> 0, true)); }
  u64(v) { return this.put(8, (d) => d.setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true)); }
  str(s) {
    const bytes = encoder.encode(s);
    this.u16(bytes.length);
    return this.bytes(bytes);
  }
  bytes(bytes) {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }
  qid(q) { return this.u8(q.type).u32(q.version).u64(q.path); }

  /** The bytes, as a reply (size first) unless plain. */
  done(plain = false) {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    if (!plain) new DataView(out.buffer).setUint32(0, out.length, true);
    return out;
  }
}

/**
 * A file as the backend describes it.
 * @typedef {object} Attributes
 * @property {{type: number, version: number, path: bigint}} qid
 * @property {number} mode  with the file type bits
 * @property {bigint} nlink @property {bigint} size @property {bigint} blocks
 * @property {bigint} atimeNs @property {bigint} mtimeNs @property {bigint} ctimeNs
 */

/**
 * What the server needs of a folder: paths are arrays of names below
 * the folder's root, each checked by the server (no "/", ".", "..").
 * Methods throw an error with a positive `.code` (an errno) on failure.
 * @typedef {object} Folder
 * @property {boolean} readOnly
 * @property {(path: string[]) => Attributes} attributes  of the file itself, never what a symlink names
 * @property {(path: string[], flags: number, mode?: number) => number} open  a regular file: a handle
 * @property {(handle: number, bytes: Uint8Array, offset: number) => number} read
 * @property {(handle: number, bytes: Uint8Array, offset: number) => number} write
 * @property {(handle: number) => void} close
 * @property {(handle: number) => void} sync
 * @property {(path: string[]) => string[]} list  a folder's names
 * @property {(path: string[], mode: number) => void} mkdir
 * @property {(path: string[], target: string) => void} symlink
 * @property {(path: string[]) => string} readlink
 * @property {(from: string[], to: string[]) => void} rename
 * @property {(existing: string[], path: string[]) => void} link
 * @property {(path: string[], folder: boolean) => void} remove
 * @property {(path: string[], change: object) => void} setattr  {mode, size, atimeNs, mtimeNs} as given
 * @property {() => {bsize: number, blocks: number, bfree: number, bavail: number, files: number, ffree: number}} statfs
 */

const checkName = (name) => {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new NineError(errno.EINVAL);
  }
  if (encoder.encode(name).length > MAX_NAME) throw new NineError(errno.ENAMETOOLONG);
  return name;
};

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** Open flags of 9P2000.L (Linux's generic O_* values), the ones the server acts on. */
const L_ACCMODE = 3;
const L_WRONLY = 1;
const L_RDWR = 2;
const L_CREAT = 0o100;
const L_EXCL = 0o200;
const L_TRUNC = 0o1000;
const L_APPEND = 0o2000;

export class Server {
  /** @param {Folder} folder */
  constructor(folder) {
    this.folder = folder;
    this.msize = 8192;
    /** @type {Map<number, {path: string[], handle: number|null, listing: object[]|null}>} */
    this.fids = new Map();
  }

  /**
   * One request to one reply.
   * @param {Uint8Array} request  a whole message (its size field included)
   * @param {number} room  the most bytes the reply may have
   * @returns {Uint8Array}
   */
  handle(request, room) {
    let tag = 0xffff;
    try {
      const r = new Reader(request);
      const size = r.u32();
      const type = r.u8();
      tag = r.u16();
      if (size !== request.length || size > MAX_MESSAGE) throw new NineError(errno.EPROTO);
      const reply = this.dispatch(type, tag, r, Math.min(room, this.msize));
      if (reply.length > room) throw new NineError(errno.ENOMEM);
      return reply;
    } catch (error) {
      if (!(error instanceof NineError) && typeof error?.code !== 'number') throw error;
      return new Writer(RLERROR, tag).u32(error.code).done();
    }
  }

  /** The guest's driver starts over (a device reset): nothing of its session is kept. */
  reset() {
    for (const number of [...this.fids.keys()]) this.clunk(number);
    this.msize = 8192;
  }

  /** The machine stopped: every file the guest had open is closed. */
  close() {
    this.reset();
  }

  fid(number) {
    const fid = this.fids.get(number);
    if (!fid) throw new NineError(errno.EBADF);
    return fid;
  }

  newFid(number, path) {
    if (this.fids.has(number)) throw new NineError(errno.EBADF);
    if (this.fids.size >= MAX_FIDS) throw new NineError(errno.EMFILE);
    const fid = { path, handle: null, listing: null };
    this.fids.set(number, fid);
    return fid;
  }

  writable() {
    if (this.folder.readOnly) throw new NineError(errno.EROFS);
  }

  clunk(number) {
    const fid = this.fids.get(number);
    if (!fid) return;
    this.fids.delete(number);
    if (fid.handle !== null) this.folder.close(fid.handle);
  }

  dispatch(type, tag, r, room) {
    const reply = new Writer(type + 1, tag);
    const f = this.folder;
    switch (type) {
      case T.version: {
        const msize = r.u32();
        const version = r.str();
        this.reset();
        this.msize = Math.max(4096, Math.min(msize, MAX_MESSAGE));
        return reply.u32(this.msize).str(version.startsWith('9P2000.L') ? '9P2000.L' : 'unknown').done();
      }
      case T.auth:
        throw new NineError(errno.EOPNOTSUPP);
      case T.attach: {
        const fid = r.u32();
        r.u32(); // afid
        r.str(); // uname
        r.str(); // aname: the share is the folder, whatever the guest names
        this.newFid(fid, []);
        return reply.qid(f.attributes([]).qid).done();
      }
      case T.flush:
        r.u16(); // every request is answered before the next is read: nothing to flush
        return reply.done();
      case T.walk: {
        const fidNumber = r.u32();
        const from = this.fid(fidNumber);
        const newfid = r.u32();
        const count = r.u16();
        if (count > MAX_WALK) throw new NineError(errno.EINVAL);
        const names = Array.from({ length: count }, () => r.str());
        const qids = [];
        let path = from.path;
        for (const name of names) {
          let next;
          if (name === '..') next = path.slice(0, -1); // never above the share's root
          else if (name === '.') next = path;
          else next = [...path, checkName(name)];
          let attributes;
          try {
            if ((f.attributes(path).mode & S_IFMT) !== S_IFDIR) throw new NineError(errno.ENOTDIR);
            attributes = f.attributes(next);
          } catch (error) {
            if (!qids.length) throw error;
            break;
          }
          qids.push(attributes.qid);
          path = next;
        }
        if (qids.length === names.length) {
          if (newfid !== fidNumber) this.newFid(newfid, path);
          else from.path = path; // walking a fid onto itself
        }
        reply.u16(qids.length);
        for (const qid of qids) reply.qid(qid);
        return reply.done();
      }
      case T.lopen: {
        const fid = this.fid(r.u32());
        const flags = r.u32();
        const attributes = f.attributes(fid.path);
        if (fid.handle !== null || fid.listing) throw new NineError(errno.EINVAL);
        if ((attributes.mode & S_IFMT) === S_IFDIR) {
          fid.listing = [];
        } else {
          if ((flags & L_ACCMODE) !== 0 || flags & L_TRUNC) this.writable();
          fid.handle = f.open(fid.path, flags);
        }
        return reply.qid(attributes.qid).u32(this.msize - IO_HEADER).done();
      }
      case T.lcreate: {
        const fid = this.fid(r.u32());
        const name = checkName(r.str());
        const flags = r.u32();
        const mode = r.u32();
        r.u32(); // gid
        this.writable();
        const path = [...fid.path, name];
        fid.handle = f.open(path, flags | L_CREAT | L_EXCL, mode & 0o7777);
        fid.path = path;
        return reply.qid(f.attributes(path).qid).u32(this.msize - IO_HEADER).done();
      }
      case T.read: {
        const fid = this.fid(r.u32());
        const offset = r.u64();
        const count = Math.min(r.u32(), room - IO_HEADER);
        if (fid.handle === null) throw new NineError(errno.EBADF);
        const data = new Uint8Array(Math.max(0, count));
        const n = f.read(fid.handle, data, offset);
        return reply.u32(n).bytes(data.subarray(0, n)).done();
      }
      case T.write: {
        const fid = this.fid(r.u32());
        const offset = r.u64();
        const data = r.data(r.u32());
        if (fid.handle === null) throw new NineError(errno.EBADF);
        this.writable();
        return reply.u32(f.write(fid.handle, data, offset)).done();
      }
      case T.clunk: {
        const number = r.u32();
        this.fid(number);
        this.clunk(number);
        return reply.done();
      }
      case T.remove: {
        const number = r.u32();
        const fid = this.fid(number);
        try {
          this.writable();
          if (!fid.path.length) throw new NineError(errno.EBUSY);
          f.remove(fid.path, (f.attributes(fid.path).mode & S_IFMT) === S_IFDIR);
        } finally {
          this.clunk(number); // clunked even if the remove fails
        }
        return reply.done();
      }
      case T.statfs: {
        this.fid(r.u32());
        const s = f.statfs();
        return reply.u32(0x01021997).u32(s.bsize).u64(s.blocks).u64(s.bfree).u64(s.bavail)
          .u64(s.files).u64(s.ffree).u64(0).u32(MAX_NAME).done();
      }
      case T.getattr: {
        const fid = this.fid(r.u32());
        r.u64(); // request mask: all basic fields are given
        const a = f.attributes(fid.path);
        const time = (ns) => reply.u64(ns / 1000000000n).u64(ns % 1000000000n);
        reply.u64(0x7ff).qid(a.qid).u32(a.mode).u32(0).u32(0).u64(a.nlink).u64(0).u64(a.size)
          .u64(4096).u64(a.blocks);
        time(a.atimeNs);
        time(a.mtimeNs);
        time(a.ctimeNs);
        return reply.u64(0).u64(0).u64(0).u64(0).done(); // btime, gen, data_version: none
      }
      case T.setattr: {
        const fid = this.fid(r.u32());
        const valid = r.u32();
        const mode = r.u32();
        r.u32(); // uid
        r.u32(); // gid
        const size = r.u64();
        const atime = BigInt(r.u64()) * 1000000000n + BigInt(r.u64());
        const mtime = BigInt(r.u64()) * 1000000000n + BigInt(r.u64());
        const now = BigInt(Date.now()) * 1000000n;
        const change = {};
        if (valid & 1) change.mode = mode & 0o7777;
        if (valid & 8) change.size = size;
        if (valid & 16) change.atimeNs = valid & 128 ? atime : now;
        if (valid & 32) change.mtimeNs = valid & 256 ? mtime : now;
        // Owners are not kept (every file is root's in the guest): a chown succeeds as a no-op.
        if (Object.keys(change).length) {
          this.writable();
          f.setattr(fid.path, change);
        }
        return reply.done();
      }
      case T.xattrwalk:
      case T.xattrcreate:
        throw new NineError(errno.EOPNOTSUPP);
      case T.readdir: {
        const fid = this.fid(r.u32());
        const offset = r.u64();
        const count = Math.min(r.u32(), room - IO_HEADER);
        if (!fid.listing) throw new NineError(errno.EBADF);
        if (offset === 0) fid.listing = this.listing(fid.path);
        const entries = new Writer();
        for (let i = offset; i < fid.listing.length; i++) {
          const { qid, type, name } = fid.listing[i];
          const bytes = encoder.encode(name);
          if (entries.length + 13 + 8 + 1 + 2 + bytes.length > count) break;
          entries.qid(qid).u64(i + 1).u8(type).u16(bytes.length).bytes(bytes);
        }
        const data = entries.done(true);
        return reply.u32(data.length).bytes(data).done();
      }
      case T.fsync: {
        const fid = this.fid(r.u32());
        if (fid.handle !== null) f.sync(fid.handle);
        return reply.done();
      }
      case T.lock:
        // Locks are the guest's own: the share is the one machine's.
        return reply.u8(0).done();
      case T.getlock: {
        this.fid(r.u32());
        r.u8();
        const start = r.u64();
        const length = r.u64();
        const proc = r.u32();
        return reply.u8(2).u64(start).u64(length).u32(proc).str(r.str()).done(); // F_UNLCK: no conflict
      }
      case T.link: {
        const folder = this.fid(r.u32());
        const existing = this.fid(r.u32());
        const name = checkName(r.str());
        this.writable();
        f.link(existing.path, [...folder.path, name]);
        return reply.done();
      }
      case T.mkdir: {
        const folder = this.fid(r.u32());
        const name = checkName(r.str());
        const mode = r.u32();
        this.writable();
        const path = [...folder.path, name];
        f.mkdir(path, mode & 0o7777);
        return reply.qid(f.attributes(path).qid).done();
      }
      case T.symlink: {
        const folder = this.fid(r.u32());
        const name = checkName(r.str());
        const target = r.str();
        this.writable();
        if (!target || target.includes('\0')) throw new NineError(errno.EINVAL);
        const path = [...folder.path, name];
        f.symlink(path, target);
        return reply.qid(f.attributes(path).qid).done();
      }
      case T.mknod:
        this.writable();
        throw new NineError(errno.EPERM); // no devices or FIFOs on the host's disk
      case T.readlink:
        return reply.str(f.readlink(this.fid(r.u32()).path)).done();
      case T.rename: {
        const fid = this.fid(r.u32());
        const folder = this.fid(r.u32());
        const name = checkName(r.str());
        this.writable();
        if (!fid.path.length) throw new NineError(errno.EINVAL);
        const to = [...folder.path, name];
        f.rename(fid.path, to);
        fid.path = to;
        return reply.done();
      }
      case T.renameat: {
        const from = this.fid(r.u32());
        const oldName = checkName(r.str());
        const to = this.fid(r.u32());
        const newName = checkName(r.str());
        this.writable();
        f.rename([...from.path, oldName], [...to.path, newName]);
        return reply.done();
      }
      case T.unlinkat: {
        const folder = this.fid(r.u32());
        const name = checkName(r.str());
        const flags = r.u32();
        this.writable();
        f.remove([...folder.path, name], Boolean(flags & AT_REMOVEDIR));
        return reply.done();
      }
      default:
        throw new NineError(errno.EOPNOTSUPP);
    }
  }

  /** A folder's entries for readdir, "." and ".." first; the offset of entry i is i + 1. */
  listing(path) {
    const f = this.folder;
    const own = f.attributes(path);
    const parent = path.length ? f.attributes(path.slice(0, -1)) : own;
    const entries = [{ qid: own.qid, type: 4, name: '.' }, { qid: parent.qid, type: 4, name: '..' }];
    for (const name of f.list(path)) {
      try {
        const a = f.attributes([...path, name]);
        entries.push({ qid: a.qid, type: (a.mode & S_IFMT) >> 12, name });
      } catch {
        // Gone since it was listed, or a name the guest could not use.
      }
    }
    return entries;
  }
}

export { S_IFDIR, S_IFMT, S_IFREG, L_ACCMODE, L_APPEND, L_CREAT, L_EXCL, L_RDWR, L_TRUNC, L_WRONLY };
