// Node side of a task thread: worker_threads in, console straight to fd 1.
// A thread runs one task at a time and then waits for the next: the machine
// keeps finished threads in a pool instead of starting new ones.
import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { runTask } from '../task.js';

function writeConsole(bytes) {
  let done = 0;
  while (done < bytes.length) done += writeSync(1, bytes, done);
}

parentPort.on('message', (start) => runTask(start, (message) => parentPort.postMessage(message), writeConsole));
