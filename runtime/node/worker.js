// Node side of a host thread (../thread.js): worker_threads in, terminal
// output straight to the file descriptor main.js chose for each terminal
// (workerData.outputs, by vterm number; none: discarded). The machine first
// sends what all tasks share, then the task to run: with coroutines, the
// boot task once; otherwise one task at a time.
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { FORGOTTEN_BYTES_PER_COLLECTION } from '../memories.js';
import { prepareThread, runTask } from '../thread.js';

/** @type {(number|null)[]} */
const outputs = workerData.outputs;

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeConsole(vterm, bytes) {
  const fd = outputs[vterm];
  if (fd == null) return;
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (error) {
      // A pipe that Node made non-blocking is full: the reader is behind.
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

// Garbage the collector is slow to take: each program memory this thread
// forgets (memories.js) holds its address space until collected (about
// 10 GiB with V8's guard regions, of the 1 TiB V8 gives all Wasm
// memories), and each exited process leaves instances and a memory's
// touched pages. main.js sets --expose-gc before it starts any thread. A
// full collection takes 10-20 ms here: after every few forgotten memories
// or enough of their bytes, and when the CPU is idle after a few exits.
const { gc } = globalThis;
const GC_EVERY_FORGOTTEN = 16;
const GC_IDLE_AFTER_EXITS = 16;
let forgotten = 0;
let forgottenBytes = 0;
let exits = 0;

function collect() {
  gc();
  exits = 0;
  forgottenBytes = 0;
}

function post(message) {
  parentPort.postMessage(message);
  if (message.kind === 'forget') {
    forgottenBytes += message.bytes;
    if (++forgotten % GC_EVERY_FORGOTTEN === 0 || forgottenBytes >= FORGOTTEN_BYTES_PER_COLLECTION) collect();
  }
  if (message.kind === 'exit') exits++;
}

function idle() {
  if (exits >= GC_IDLE_AFTER_EXITS) collect();
}

let ctx = null;

parentPort.on('message', (message) => {
  try {
    if (message.kind === 'machine') ctx = prepareThread(message.machine, post, writeConsole, idle);
    else runTask(ctx, message.start);
  } catch (error) {
    post({ kind: 'trap', task: message.start?.task ?? 0, name: '?', message: String(error.stack ?? error) });
  }
});
