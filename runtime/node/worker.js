// Node side of a task thread: worker_threads in, console straight to fd 1.
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { runTask } from '../task.js';

function writeConsole(bytes) {
  let done = 0;
  while (done < bytes.length) done += writeSync(1, bytes, done);
}

runTask(workerData, (message) => parentPort.postMessage(message), writeConsole);
