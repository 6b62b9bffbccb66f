// A link (link.js) to a port of the page's switch (switch.js): each
// message is one frame, an ArrayBuffer, both ways. The switch and the
// other machines are as untrusted as the guest: the card checks every
// frame (virtio/net.js). A MessagePort cannot stop delivering, so pause()
// is not heeded (the card drops what it cannot hold), and it is never
// busy: postMessage copies the frame at once.

export class PortLink {
  /** @param {MessagePort} port */
  constructor(port) {
    this.port = port;
    this.busy = false;
    this.onFrame = () => {};
    this.onDrain = () => {};
    this.onClose = () => {};
    port.onmessage = ({ data }) => {
      if (data instanceof ArrayBuffer) this.onFrame(new Uint8Array(data));
    };
  }

  send(frame) {
    const copy = frame.slice();
    this.port.postMessage(copy.buffer, [copy.buffer]);
  }

  pause() {}

  resume() {}

  close() {
    this.port.close();
  }
}
