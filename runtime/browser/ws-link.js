// A link (../network/link.js) over a WebSocket: each binary message is one
// Ethernet frame, both ways, as v86's relays and `linuxwasm serve --net`
// (src/linuxwasm/relay.py) have it. The relay is as untrusted as the
// guest: a message that is not a frame is dropped by the card.
//
// A WebSocket cannot stop delivering, so pause() is not heeded: the card
// drops what it cannot hold (virtio/net.js), and the guest's TCP sends it
// again. While more than BUSY_BYTES wait to be sent, the link is busy.

const BUSY_BYTES = 1024 * 1024;
const DRAIN_POLL_MS = 5;

/**
 * The relay's WebSocket, once open; null with the reason if it does not open.
 * @param {string} url  ws: or wss:
 * @param {number} patience  milliseconds
 * @returns {Promise<{link: WebSocketLink}|{link: null, reason: string}>}
 */
export function connectRelay(url, patience = 5000) {
  return new Promise((resolve) => {
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      resolve({ link: null, reason: `${url}: ${error.message}` });
      return;
    }
    socket.binaryType = 'arraybuffer';
    const timer = setTimeout(() => {
      socket.close();
      resolve({ link: null, reason: `${url} did not answer` });
    }, patience);
    socket.onopen = () => {
      clearTimeout(timer);
      resolve({ link: new WebSocketLink(socket) });
    };
    socket.onerror = () => {
      clearTimeout(timer);
      resolve({ link: null, reason: `no relay at ${url}` });
    };
  });
}

export class WebSocketLink {
  /** @param {WebSocket} socket  open, binaryType 'arraybuffer' */
  constructor(socket) {
    this.socket = socket;
    this.onFrame = () => {};
    this.onDrain = () => {};
    this.onClose = () => {};
    this.draining = null;
    socket.onmessage = ({ data }) => {
      if (data instanceof ArrayBuffer) this.onFrame(new Uint8Array(data));
    };
    socket.onclose = () => this.onClose('the relay closed the connection');
  }

  get busy() {
    const busy = this.socket.bufferedAmount > BUSY_BYTES;
    if (busy && !this.draining) this.waitForDrain();
    return busy;
  }

  /** A WebSocket says nothing when its buffer empties: look until it has. */
  waitForDrain() {
    this.draining = setInterval(() => {
      if (this.socket.bufferedAmount > BUSY_BYTES) return;
      clearInterval(this.draining);
      this.draining = null;
      this.onDrain();
    }, DRAIN_POLL_MS);
  }

  send(frame) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame);
  }

  pause() {}

  resume() {}

  close() {
    clearInterval(this.draining);
    this.socket.close();
  }
}
