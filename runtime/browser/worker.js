// Browser side of a host thread (../thread.js): a module Web Worker.
// Terminal output goes to the page as a message ({kind: 'console', vterm,
// bytes}), which the platform (platform.js) takes before the machine sees
// it. Otherwise the same as the Node worker.
import { prepareThread, runTask } from '../thread.js';

const post = (message) => self.postMessage(message);

/** @param {number} vterm @param {Uint8Array} bytes  a copy, which we may give away */
function writeConsole(vterm, bytes) {
  self.postMessage({ kind: 'console', vterm, bytes }, [bytes.buffer]);
}

let ctx = null;

self.onmessage = ({ data: message }) => {
  try {
    if (message.kind === 'machine') ctx = prepareThread(message.machine, post, writeConsole);
    else runTask(ctx, message.start);
  } catch (error) {
    post({ kind: 'trap', task: message.start?.task ?? 0, name: '?', message: String(error.stack ?? error) });
  }
};
