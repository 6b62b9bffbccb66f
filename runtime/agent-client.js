// The host's side of the guest agent's protocol (system/agent.c has the
// spec; src/linuxwasm/agent.py is the same for Python), for the page:
// files put into the guest and taken out of it, one request at a time.
// What the guest sends is hostile input: a header that is not one of the
// agent's, or a length beyond what the agent ever sends, breaks the
// channel for good, and every request then fails with the reason.

const MAX_HEADER = 64;
const PAYLOAD_MAX = { out: 4096, err: 4096, data: 4096, error: 512, ready: 1024 };
const WORD_MAX = { ack: 0, done: 0, exit: 255 };
const HEADER = /^([a-z]{1,8}) (0|[1-9][0-9]{0,18}) (0|[1-9][0-9]{0,18})$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class AgentClient {
  /** @param {(bytes: Uint8Array) => void} send  to the agent channel */
  constructor(send) {
    this.send = send;
    this.buffer = new Uint8Array(0);
    this.nextId = 1;
    /** @type {{id: number, onMessage: (kind: string, payload: Uint8Array) => void, fail: (e: Error) => void}|null} */
    this.current = null;
    this.queue = Promise.resolve();
    this.broken = null;
    this.ignoring = null;
  }

  /** Bytes the agent wrote. */
  feed(bytes) {
    if (this.broken) return;
    const joined = new Uint8Array(this.buffer.length + bytes.length);
    joined.set(this.buffer);
    joined.set(bytes, this.buffer.length);
    this.buffer = joined;
    try {
      for (let message; (message = this.next());) this.dispatch(message);
    } catch (error) {
      this.broken = error;
      this.current?.fail(error);
      this.current = null;
    }
  }

  /** The next whole message in the buffer, or null. */
  next() {
    const end = this.buffer.subarray(0, MAX_HEADER + 1).indexOf(10);
    if (end < 0) {
      if (this.buffer.length > MAX_HEADER) throw new Error('the guest agent sent a header that is too long');
      return null;
    }
    const match = HEADER.exec(decoder.decode(this.buffer.subarray(0, end)));
    if (!match) throw new Error('the guest agent sent what is not a message header');
    const [, kind, id, word] = match;
    const length = Number(word);
    if (kind in PAYLOAD_MAX) {
      if (length > PAYLOAD_MAX[kind]) throw new Error(`the guest agent sent a ${kind} message of ${length} bytes`);
      if (this.buffer.length < end + 1 + length) return null;
    } else if (!(kind in WORD_MAX) || length > WORD_MAX[kind]) {
      throw new Error(`the guest agent sent an unknown message (${kind} ${length})`);
    }
    const size = kind in PAYLOAD_MAX ? length : 0;
    const payload = this.buffer.slice(end + 1, end + 1 + size);
    this.buffer = this.buffer.slice(end + 1 + size);
    return { kind, id: Number(id), payload };
  }

  dispatch({ kind, id, payload }) {
    if (kind === 'ready' && id === 0) return;
    if (id === this.ignoring) {
      // The rest of a request that failed here (a download too large).
      if (kind === 'done' || kind === 'error') this.ignoring = null;
      return;
    }
    if (!this.current || id !== this.current.id) throw new Error(`the guest agent answered request ${id}, not asked`);
    this.current.onMessage(kind, payload);
  }

  /** One request at a time: each waits for the one before. */
  request(kind, words, payload, onMessage) {
    const run = () => new Promise((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      const id = this.nextId++;
      this.current = {
        id,
        fail: reject,
        onMessage: (messageKind, body) => {
          try {
            const result = onMessage(messageKind, body);
            if (result !== undefined) {
              this.current = null;
              resolve(result);
            }
          } catch (error) {
            if (messageKind !== 'done' && messageKind !== 'error') this.ignoring = id;
            this.current = null;
            reject(error);
          }
        },
      };
      const header = encoder.encode(`${kind} ${id} ${words.join(' ')}\n`);
      const message = new Uint8Array(header.length + payload.length);
      message.set(header);
      message.set(payload, header.length);
      this.send(message);
    });
    const done = this.queue.then(run, run);
    this.queue = done.catch(() => {});
    return done;
  }

  /** Put bytes into the guest file at path (made or replaced, with mode). */
  put(path, bytes, mode = 0o644) {
    const name = encoder.encode(path);
    const payload = new Uint8Array(name.length + 1 + bytes.length);
    payload.set(name);
    payload.set(bytes, name.length + 1);
    return this.request('put', [mode, payload.length], payload, (kind, body) => {
      if (kind === 'done') return true;
      if (kind === 'error') throw new Error(decoder.decode(body));
      throw new Error(`the guest agent answered a put with ${kind}`);
    });
  }

  /** The guest file at path, of at most limit bytes. */
  get(path, limit) {
    const pieces = [];
    let size = 0;
    return this.request('get', [encoder.encode(path).length], encoder.encode(path), (kind, body) => {
      if (kind === 'data') {
        size += body.length;
        if (size > limit) throw new Error(`${path}: larger than ${limit} bytes`);
        pieces.push(body);
        return undefined;
      }
      // As bytes: a browser names a text blob's download .txt.
      if (kind === 'done') return new Blob(pieces, { type: 'application/octet-stream' });
      if (kind === 'error') throw new Error(decoder.decode(body));
      throw new Error(`the guest agent answered a get with ${kind}`);
    });
  }
}
