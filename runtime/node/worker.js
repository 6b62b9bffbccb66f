// Node side of a task thread: worker_threads in, console straight to fd 1.
// The machine first sends what all tasks share, then one task at a time;
// between tasks the thread keeps a kernel instance ready for the next one.
import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { prepareTask, runTask } from '../task.js';

function writeConsole(bytes) {
  let done = 0;
  while (done < bytes.length) done += writeSync(1, bytes, done);
}

const post = (message) => parentPort.postMessage(message);
let machine = null;
let ready = null;

parentPort.on('message', (message) => {
  try {
    if (message.kind === 'machine') {
      machine = message.machine;
    } else {
      runTask(ready ?? prepareTask(machine, post, writeConsole), message.start);
    }
    ready = prepareTask(machine, post, writeConsole);
  } catch (error) {
    post({ kind: 'trap', task: message.start?.task ?? 0, name: '?', message: String(error.stack ?? error) });
  }
});
