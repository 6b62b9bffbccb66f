// A learning Ethernet switch for the machines of one page (the page's
// cluster): each port is a MessagePort whose other end is a machine's
// network card (port-link.js, in its device worker). A frame goes to the
// port where its destination was last seen, or to every other port if it
// is for everyone or for an address not seen yet; src/linuxwasm/switch.py
// is the same switch for machines of one Python process.
//
// Every port is a guest's and untrusted: a message that is not a frame is
// dropped, and a port that a machine's worker closes only leaves.

const ETHERNET_HEADER = 14;
const MAX_FRAME = ETHERNET_HEADER + 65535;

const key = (frame, at) => Array.from(frame.subarray(at, at + 6), (b) => b.toString(16).padStart(2, '0')).join(':');

export class Switch {
  constructor() {
    /** @type {Set<MessagePort>} */
    this.ports = new Set();
    /** Where each address was last seen. @type {Map<string, MessagePort>} */
    this.where = new Map();
    /** Our port for each end given out. @type {Map<MessagePort, MessagePort>} */
    this.ends = new Map();
  }

  /** A new port: the end returned goes to a machine's device worker. @returns {MessagePort} */
  attach() {
    const { port1: ours, port2: theirs } = new MessageChannel();
    ours.onmessage = ({ data }) => this.forward(ours, data);
    this.ports.add(ours);
    this.ends.set(theirs, ours);
    return theirs;
  }

  /** @param {MessagePort} end  what attach() returned, for a machine that has stopped */
  detach(end) {
    const port = this.ends.get(end);
    if (!port) return;
    this.ends.delete(end);
    this.ports.delete(port);
    for (const [mac, where] of this.where) if (where === port) this.where.delete(mac);
    port.close();
  }

  forward(source, data) {
    if (!(data instanceof ArrayBuffer) || data.byteLength < ETHERNET_HEADER || data.byteLength > MAX_FRAME) return;
    const frame = new Uint8Array(data);
    if (!(frame[6] & 1)) this.where.set(key(frame, 6), source);
    const target = frame[0] & 1 ? undefined : this.where.get(key(frame, 0));
    const targets = target ? [target] : [...this.ports].filter((p) => p !== source);
    for (const port of targets) if (port !== source) port.postMessage(data);
  }
}
