// Node side of a host thread (../thread.js): worker_threads in, terminal
// output straight to the file descriptor main.js chose for each terminal
// (workerData.outputs, by vterm number; none: discarded). The machine first
// sends what all tasks share, then the task to run: with coroutines, the
// boot task once; otherwise one task at a time.
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
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

// Each finished task leaves a process memory for the collector, which runs
// too seldom by itself (main.js sets --expose-gc before it starts any
// thread). Until then the memory holds its address space: about 10 GiB
// with V8's guard regions, of the 1 TiB V8 gives all Wasm memories. A full
// collection takes 10-20 ms here, hence not after every exit; a thread of
// a thread per task sees a sixteenth of the exits.
const { gc } = globalThis;
const gcEveryExits = () => (ctx.coroutines ? 32 : 8);
let exits = 0;

function post(message) {
  parentPort.postMessage(message);
  if (message.kind === 'exit' && ++exits % gcEveryExits() === 0) gc();
}

let ctx = null;

parentPort.on('message', (message) => {
  try {
    if (message.kind === 'machine') ctx = prepareThread(message.machine, post, writeConsole);
    else runTask(ctx, message.start);
  } catch (error) {
    post({ kind: 'trap', task: message.start?.task ?? 0, name: '?', message: String(error.stack ?? error) });
  }
});
