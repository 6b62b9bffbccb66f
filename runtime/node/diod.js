// Debian's diod as a share's file server instead of ours (../9p/server.js):
// the reference our server is tested against, and a server with the full
// POSIX semantics of the host (owners kept) for those who want them. It
// runs as a child process serving one connection on two pipes (FIFOs
// opened read-write, so that neither side's open waits), and each request
// is sent and its reply read synchronously, on the machine's thread.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { MAX_MESSAGE } from '../9p/server.js';

const T_ATTACH = 104;

export class DiodServer {
  /** @param {string} folder @param {boolean} readOnly */
  constructor(folder, readOnly) {
    this.folder = folder;
    const scratch = mkdtempSync(join(tmpdir(), 'linuxwasm-diod-'));
    try {
      const requests = join(scratch, 'requests');
      const replies = join(scratch, 'replies');
      execFileSync('mkfifo', [requests, replies]);
      this.requests = openSync(requests, 'r+');
      this.replies = openSync(replies, 'r+');
      const theirs = [openSync(requests, 'r+'), openSync(replies, 'r+')];
      // Every guest user is the host's user who runs the machine, as with our server.
      const args = ['-f', '-n', '-S', '-U', userInfo().username, '-r', '3', '-w', '4', '-e', folder, '-L', 'stderr'];
      if (readOnly) args.push('-o', 'ro');
      const diod = existsSync('/usr/sbin/diod') ? '/usr/sbin/diod' : 'diod';
      this.child = spawn(diod, args, { stdio: ['ignore', 'ignore', 'inherit', ...theirs] });
      theirs.forEach(closeSync);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** The export's path is diod's name for it: every attach asks for it. */
  withExport(request) {
    const view = new DataView(request.buffer, request.byteOffset, request.byteLength);
    if (view.getUint8(4) !== T_ATTACH) return request;
    const unameLength = view.getUint16(15, true);
    const anameAt = 17 + unameLength;
    const rest = request.subarray(anameAt + 2 + view.getUint16(anameAt, true));
    const aname = new TextEncoder().encode(this.folder);
    const out = new Uint8Array(anameAt + 2 + aname.length + rest.length);
    out.set(request.subarray(0, anameAt));
    new DataView(out.buffer).setUint16(anameAt, aname.length, true);
    out.set(aname, anameAt + 2);
    out.set(rest, anameAt + 2 + aname.length);
    new DataView(out.buffer).setUint32(0, out.length, true);
    return out;
  }

  handle(request, room) {
    const message = this.withExport(request);
    writeSync(this.requests, message);
    const size = new Uint8Array(4);
    this.readAll(size);
    const length = new DataView(size.buffer).getUint32(0, true);
    if (length < 7 || length > Math.min(room, MAX_MESSAGE)) throw new Error(`diod sent a reply of ${length} bytes`);
    const reply = new Uint8Array(length);
    reply.set(size);
    this.readAll(reply.subarray(4));
    return reply;
  }

  readAll(bytes) {
    for (let done = 0; done < bytes.length;) done += readSync(this.replies, bytes, done, bytes.length - done);
  }

  reset() {}

  close() {
    this.child.kill();
    closeSync(this.requests);
    closeSync(this.replies);
  }
}
