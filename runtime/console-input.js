// Terminal input: bytes from the host's terminal (or a pipe, or the agent
// channel) on their way to the guest. A ring in a SharedArrayBuffer,
// written by the machine on the main thread, read by the kernel's
// console_read import on whichever task thread handles the interrupt.

const HEAD = 0; // next byte to read, as an index into the ring
const TAIL = 1; // next byte to write
const HEADER = 8;

/** @param {SharedArrayBuffer} buffer */
function views(buffer) {
  return { indices: new Int32Array(buffer, 0, 2), bytes: new Uint8Array(buffer, HEADER) };
}

/** A ring that holds up to size - 1 bytes. @param {number} size */
export function createInputRing(size) {
  return new SharedArrayBuffer(HEADER + size);
}

/**
 * Append as much of data as fits; returns how many bytes were taken.
 * @param {SharedArrayBuffer} buffer
 * @param {Uint8Array} data
 */
export function writeInput(buffer, data) {
  const { indices, bytes } = views(buffer);
  const head = Atomics.load(indices, HEAD);
  let tail = Atomics.load(indices, TAIL);
  let taken = 0;
  while (taken < data.length && (tail + 1) % bytes.length !== head) {
    bytes[tail] = data[taken++];
    tail = (tail + 1) % bytes.length;
  }
  Atomics.store(indices, TAIL, tail);
  return taken;
}

/**
 * Take up to max bytes into target; returns how many.
 * @param {SharedArrayBuffer} buffer
 * @param {Uint8Array} target
 * @param {number} max
 */
export function readInput(buffer, target, max) {
  const { indices, bytes } = views(buffer);
  let head = Atomics.load(indices, HEAD);
  const tail = Atomics.load(indices, TAIL);
  let count = 0;
  while (count < max && head !== tail) {
    target[count++] = bytes[head];
    head = (head + 1) % bytes.length;
  }
  Atomics.store(indices, HEAD, head);
  return count;
}
