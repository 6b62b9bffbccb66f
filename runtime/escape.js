// The host's escape key on a raw terminal, as in QEMU: Ctrl-A then x stops
// the machine; Ctrl-A twice sends one Ctrl-A to the guest. Everything else
// passes through unchanged.

const CTRL_A = 0x01;

export class EscapeFilter {
  /** @param {() => void} onStop called when the user asks to stop */
  constructor(onStop) {
    this.onStop = onStop;
    this.pending = false;
  }

  /**
   * The bytes to give the guest.
   * @param {Uint8Array} data
   * @returns {Uint8Array}
   */
  filter(data) {
    const out = [];
    for (const byte of data) {
      if (this.pending) {
        this.pending = false;
        if (byte === 0x78 /* x */) {
          this.onStop();
          return new Uint8Array(out);
        }
        out.push(CTRL_A);
        if (byte !== CTRL_A) out.push(byte);
      } else if (byte === CTRL_A) {
        this.pending = true;
      } else {
        out.push(byte);
      }
    }
    return new Uint8Array(out);
  }
}
