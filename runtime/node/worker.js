// Node side of a task thread: worker_threads in, terminal output straight
// to the file descriptor main.js chose for each terminal (workerData.outputs,
// by vterm number; none: discarded). The machine first sends what all tasks
// share, then one task at a time; the thread keeps one kernel instance for
// all of them.
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { prepareTask, runTask } from '../task.js';

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

const post = (message) => parentPort.postMessage(message);
let ctx = null;
let tasks = 0;
// Each finished task leaves a process memory for the collector, which a
// thread that allocates little runs too seldom (main.js sets --expose-gc
// before it starts any thread).
const { gc } = globalThis;
const GC_EVERY_TASKS = 8;

parentPort.on('message', (message) => {
  try {
    if (message.kind === 'machine') ctx = prepareTask(message.machine, post, writeConsole);
    else {
      runTask(ctx, message.start);
      if (++tasks % GC_EVERY_TASKS === 0) gc();
    }
  } catch (error) {
    post({ kind: 'trap', task: message.start?.task ?? 0, name: '?', message: String(error.stack ?? error) });
  }
});
