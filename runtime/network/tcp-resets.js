// When a card's link is lost (passt ended, the relay went away), the far
// end of every TCP connection of the guest is gone, but the guest would
// not know: a download would wait for data forever. So the card watches
// the TCP segments it hands the guest (IPv4 and IPv6, no extension
// headers), remembers for each connection the sequence number the guest
// expects next, and on losing the link hands the guest a reset from each
// far end: the guest's programs see "connection reset by peer", not a
// hang. At most MAX_FLOWS connections are remembered (the oldest go).

const MAX_FLOWS = 4096;
const ETHERNET_HEADER = 14;
const TCP = 6;
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;

/** The internet checksum of bytes, added to sum (a partial sum). */
function checksum(bytes, sum = 0) {
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export class TcpResets {
  constructor() {
    /** By the connection's addresses and ports: what a reset from its far end needs. @type {Map<string, object>} */
    this.flows = new Map();
  }

  /** A frame from the far end to the guest. @param {Uint8Array} frame */
  seen(frame) {
    const segment = this.parse(frame);
    if (!segment) return;
    const { key, flags } = segment;
    this.flows.delete(key); // and back in, as the newest
    if (flags & (RST | FIN)) return;
    this.flows.set(key, segment);
    if (this.flows.size > MAX_FLOWS) this.flows.delete(this.flows.keys().next().value);
  }

  /** The addresses, ports and next sequence number of a TCP segment, or null. */
  parse(frame) {
    if (frame.length < ETHERNET_HEADER + 40) return null;
    const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
    const type = view.getUint16(12);
    let ip;
    let tcp;
    let payload;
    if (type === 0x0800) {
      const ihl = (frame[ETHERNET_HEADER] & 0x0f) * 4;
      if (frame[ETHERNET_HEADER + 9] !== TCP || ihl < 20) return null;
      ip = { version: 4, source: frame.slice(26, 30), destination: frame.slice(30, 34) };
      tcp = ETHERNET_HEADER + ihl;
      payload = view.getUint16(ETHERNET_HEADER + 2) - ihl;
    } else if (type === 0x86dd) {
      if (frame[ETHERNET_HEADER + 6] !== TCP || frame.length < ETHERNET_HEADER + 60) return null;
      ip = { version: 6, source: frame.slice(22, 38), destination: frame.slice(38, 54) };
      tcp = ETHERNET_HEADER + 40;
      payload = view.getUint16(ETHERNET_HEADER + 4);
    } else {
      return null;
    }
    if (frame.length < tcp + 20) return null;
    const offset = (frame[tcp + 12] >> 4) * 4;
    const flags = frame[tcp + 13];
    const data = payload - offset;
    if (offset < 20 || data < 0) return null;
    const next = (view.getUint32(tcp + 4) + data + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0)) >>> 0;
    const ports = frame.slice(tcp, tcp + 4);
    const key = `${ip.version} ${ip.source} ${ip.destination} ${ports}`;
    return { key, flags, next, ip, ports, macs: frame.slice(0, 12) };
  }

  /** A reset from the far end of each connection, to hand the guest; the connections are forgotten. */
  resets() {
    const frames = [...this.flows.values()].map((flow) => this.reset(flow));
    this.flows.clear();
    return frames;
  }

  reset({ ip, ports, next, macs }) {
    const v4 = ip.version === 4;
    const ipBytes = v4 ? 20 : 40;
    const frame = new Uint8Array(ETHERNET_HEADER + ipBytes + 20);
    const view = new DataView(frame.buffer);
    frame.set(macs, 0); // to the guest, from the far end
    view.setUint16(12, v4 ? 0x0800 : 0x86dd);
    const at = ETHERNET_HEADER;
    if (v4) {
      frame[at] = 0x45;
      view.setUint16(at + 2, 40);
      frame[at + 8] = 64; // TTL
      frame[at + 9] = TCP;
      frame.set(ip.source, at + 12);
      frame.set(ip.destination, at + 16);
      view.setUint16(at + 10, ~checksum(frame.subarray(at, at + 20)) & 0xffff);
    } else {
      frame[at] = 0x60;
      view.setUint16(at + 4, 20);
      frame[at + 6] = TCP;
      frame[at + 7] = 64; // hop limit
      frame.set(ip.source, at + 8);
      frame.set(ip.destination, at + 24);
    }
    const tcp = at + ipBytes;
    frame.set(ports, tcp); // the far end's port first: it sends
    view.setUint32(tcp + 4, next);
    frame[tcp + 12] = 5 << 4;
    frame[tcp + 13] = RST;
    // The checksum covers a pseudo-header: the addresses, the protocol and the length.
    const pseudo = new Uint8Array(v4 ? 12 : 40);
    pseudo.set(ip.source, 0);
    pseudo.set(ip.destination, ip.source.length);
    pseudo[pseudo.length - (v4 ? 3 : 1)] = TCP;
    pseudo[pseudo.length - (v4 ? 1 : 5)] = 20;
    view.setUint16(tcp + 16, ~checksum(frame.subarray(tcp, tcp + 20), checksum(pseudo)) & 0xffff);
    return frame;
  }
}
