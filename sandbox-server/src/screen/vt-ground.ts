/**
 * Where a terminal's output is plain text, read ahead of the terminal that parses it: plain
 * text (printable ASCII, CR, LF) checked a word at a time, and just enough of the VT parser's
 * states to know where the terminal is back in its ground state, printing. Used by the session
 * screen to follow floods without parsing them (screen-flood.ts).
 */

const CR = 0x0d;
const LF = 0x0a;

const PLAIN = new Uint8Array(256);
for (let byte = 0x20; byte <= 0x7e; byte++) PLAIN[byte] = 1;
PLAIN[CR] = 1;
PLAIN[LF] = 1;

/** The length of the plain text at `from`. */
export function plainLength(bytes: Uint8Array, from = 0): number {
  const end = bytes.length;
  let i = from;
  // Byte by byte up to a 4-byte boundary, then a word at a time (every byte of a flood is
  // checked, so this is the screen's hot loop), then byte by byte again.
  while (i < end && (bytes.byteOffset + i) % 4 !== 0) {
    if (PLAIN[bytes[i]!] !== 1) return i - from;
    i++;
  }
  const words = Math.floor((end - i) / 4);
  if (words >= 16) {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; w++) {
      const word = view[w]!;
      // Some byte below 0x20, or some byte above 0x7e (SWAR: no byte's borrow or carry can
      // hide another's): look at its four bytes, as CR and LF are plain too.
      if ((((word - 0x20202020) & ~word) | (word + 0x01010101) | word) & 0x80808080) {
        for (let k = 0; k < 4; k++) {
          if (PLAIN[bytes[i + k]!] !== 1) return i + k - from;
        }
      }
      i += 4;
    }
  }
  while (i < end && PLAIN[bytes[i]!] === 1) i++;
  return i - from;
}

const Vt = {
  ground: 0,
  escape: 1,
  escapeIntermediate: 2,
  csi: 3,
  /** OSC: ends with BEL or ST */
  osc: 4,
  /** DCS, SOS, PM, APC, and a C1 control we do not follow: end only with ST, CAN or SUB */
  string: 5,
} as const;
type VtState = (typeof Vt)[keyof typeof Vt];

/**
 * Follows just enough of the VT parser (the DEC state machine xterm.js implements) to know
 * where the terminal is back in its ground state, printing text. Plain bytes only print there:
 * inside a CSI they are parameters, inside an OSC a title or a clipboard payload. Where it is
 * unsure, it says "not ground", which only means "parse normally".
 */
export class GroundTracker {
  #state: VtState = Vt.ground;
  #afterC2 = false;
  /** the last byte read; one of 0x80 and above may be the start of a character still to come */
  #last = 0;

  /** In the ground state, with no UTF-8 character begun. */
  get ground(): boolean {
    return this.#state === Vt.ground && this.#last < 0x80;
  }

  /**
   * Reads `bytes` from `from` up to the first plain byte met in the ground state, and returns
   * its index (`bytes.length` if there is none). The caller then reads the plain text there and
   * tells `sawPlain` where it ended.
   */
  untilPlain(bytes: Uint8Array, from: number): number {
    for (let i = from; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (PLAIN[byte] === 1 && this.ground) return i;
      this.#read(byte);
    }
    return bytes.length;
  }

  /** Plain text (from the ground state) ended with `last`. */
  sawPlain(last: number): void {
    this.#last = last;
    this.#afterC2 = false;
  }

  #read(byte: number): void {
    const wasC2 = this.#afterC2;
    this.#afterC2 = byte === 0xc2;
    this.#last = byte;
    if (byte === 0x1b) {
      this.#state = Vt.escape;
      return;
    }
    if (byte === 0x18 || byte === 0x1a) {
      this.#state = Vt.ground;
      return;
    }
    // U+0080–U+009F, a C1 control after UTF-8 decoding: may open a sequence; wait for ESC.
    if (wasC2 && byte >= 0x80 && byte <= 0x9f) {
      this.#state = Vt.string;
      return;
    }
    switch (this.#state) {
      case Vt.ground:
        return;
      case Vt.escape:
        if (byte < 0x20 || byte === 0x7f) return;
        if (byte <= 0x2f) this.#state = Vt.escapeIntermediate;
        else if (byte === 0x5b)
          this.#state = Vt.csi; // [
        else if (byte === 0x5d)
          this.#state = Vt.osc; // ]
        else if (byte === 0x50 || byte === 0x58 || byte === 0x5e || byte === 0x5f) {
          this.#state = Vt.string; // P X ^ _
        } else if (byte <= 0x7e) this.#state = Vt.ground;
        return;
      case Vt.escapeIntermediate:
        if (byte >= 0x30 && byte <= 0x7e) this.#state = Vt.ground;
        return;
      case Vt.csi:
        if (byte >= 0x40 && byte <= 0x7e) this.#state = Vt.ground;
        return;
      case Vt.osc:
        if (byte === 0x07) this.#state = Vt.ground;
        return;
      case Vt.string:
        return;
    }
  }
}
