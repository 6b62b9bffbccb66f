// What a network card's cable is (virtio/net.js): a link carries whole
// Ethernet frames both ways. Its far end is a NAT (passt, through the
// host's link: node/stream-link.js), a port of a switch, or a relay.
//
// A link:
//   send(frame)   a frame from the card (the link may keep the bytes)
//   busy          whether the far end is behind: the card then waits
//                 for onDrain before it sends more
//   pause(), resume()  stop and start delivering frames (the card has
//                 more waiting than it holds)
//   onFrame(frame), onDrain()  set by the card
//   onClose(reason)  set by the card: the far end is gone, saying why
//   close()

/** @typedef {{send(frame: Uint8Array): void, busy: boolean, pause(): void, resume(): void,
 *   onFrame: (frame: Uint8Array) => void, onDrain: () => void, onClose: (reason: string) => void,
 *   close(): void}} Link */

/** Parse "02:4c:57:00:00:01". @param {string} text @returns {Uint8Array} */
export function parseMac(text) {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`${text}: not a MAC address`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}
