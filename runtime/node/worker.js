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

function writeConsole(vterm, bytes) {
  const fd = outputs[vterm];
  if (fd == null) return;
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done);
}

const post = (message) => parentPort.postMessage(message);
let ctx = null;

parentPort.on('message', (message) => {
  try {
    if (message.kind === 'machine') ctx = prepareTask(message.machine, post, writeConsole);
    else runTask(ctx, message.start);
  } catch (error) {
    post({ kind: 'trap', task: message.start?.task ?? 0, name: '?', message: String(error.stack ?? error) });
  }
});
