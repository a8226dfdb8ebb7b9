/**
 * How much of a flood of plain text a session's screen may leave unparsed without changing what
 * it shows. Parsing is the screen's whole cost (xterm.js manages about 40 MiB/s here), and a
 * flood (`yes`, `cat` of a big log, `seq 1 1000000`) mostly scrolls out of the scrollback
 * before anyone could look at it.
 *
 * Plain text here is printable ASCII, CR and LF: it changes only the lines it writes and the
 * cursor, never modes, colours or tab stops. Once enough lines follow a point in it that every
 * line of the buffer (screen and scrollback, twice over for where the cursor started) was
 * written after that point, nothing before the point can be seen any more, except the cursor's
 * column, which this scan works out. The caller then parses `CR`, a cursor-forward to that
 * column, and the rest. The scan assumes autowrap on and insert mode off, with no scroll region;
 * the caller checks those first.
 */

export interface ScreenGeometry {
  cols: number;
  rows: number;
  scrollback: number;
}

export interface FloodCut {
  /** bytes at the start that need no parsing */
  skip: number;
  /** the cursor's column after them, 0 ≤ column < cols */
  column: number;
}

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
   * Reads `bytes`; returns the first plain run of at least `minimum` bytes that starts in the
   * ground state, if there is one.
   */
  scan(bytes: Uint8Array, minimum: number): { start: number; length: number } | undefined {
    let found: { start: number; length: number } | undefined;
    let i = 0;
    while (i < bytes.length) {
      if (!found && this.ground) {
        const length = plainLength(bytes, i);
        if (length >= minimum) found = { start: i, length };
        if (length > 0) {
          i += length; // plain bytes keep the ground state
          this.#last = bytes[i - 1]!;
          this.#afterC2 = false;
          continue;
        }
      }
      this.#read(bytes[i]!);
      i++;
    }
    return found;
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

/**
 * Where a run of plain text (nothing but plain bytes: the caller found it) may be cut.
 * `startColumn` is the cursor's column before it (cols when a wrap is pending). Undefined when
 * too few lines follow. One pass, remembering where the last `needed` line advances were.
 */
export function floodCut(
  run: Uint8Array,
  startColumn: number,
  geometry: ScreenGeometry,
): FloodCut | undefined {
  const { cols, rows, scrollback } = geometry;
  if (cols < 2) return undefined;
  const needed = 2 * rows + scrollback;
  const at = new Int32Array(needed);
  const columnBefore = new Int32Array(needed);
  let advances = 0;
  const advance = (position: number, column: number) => {
    const slot = advances % needed;
    at[slot] = position;
    columnBefore[slot] = column;
    advances++;
  };
  let column = startColumn;
  const end = run.length;
  // Segment by segment: characters up to the next CR or LF, then that byte. Buffer's indexOf
  // is memchr; a typed array's is a loop in JavaScript.
  const text = Buffer.from(run.buffer, run.byteOffset, run.byteLength);
  let nextCR = text.indexOf(CR);
  let nextLF = text.indexOf(LF);
  for (let i = 0; i < end; ) {
    if (nextCR !== -1 && nextCR < i) nextCR = text.indexOf(CR, i);
    if (nextLF !== -1 && nextLF < i) nextLF = text.indexOf(LF, i);
    const control = Math.min(nextCR === -1 ? end : nextCR, nextLF === -1 ? end : nextLF);
    const length = control - i;
    if (length > 0) {
      // Autowrap: a character printed with the cursor past the last column (`cols`) goes to
      // the start of the next line. That happens to the characters at offsets m·cols − column.
      const wraps = Math.floor((length - 1 + column) / cols);
      // Only the last `needed` can matter; the others are counted.
      const uncounted = Math.max(0, wraps - needed);
      advances += uncounted;
      for (let m = uncounted + 1; m <= wraps; m++) advance(i + m * cols - column, cols);
      column = column + length - wraps * cols;
    }
    if (control === end) break;
    if (control === nextCR) column = 0;
    else {
      advance(control, column);
      // A line feed just after the last column leaves the cursor on the last column.
      if (column >= cols) column = cols - 1;
    }
    i = control + 1;
  }
  if (advances < needed) return undefined;
  // The first of the last `needed` advances: cut there, or just before it when a wrap was
  // pending there (a cursor-forward cannot leave one pending; a character before it can).
  const oldest = advances % needed;
  const cut =
    columnBefore[oldest]! < cols
      ? { skip: at[oldest]!, column: columnBefore[oldest]! }
      : { skip: at[oldest]! - 1, column: cols - 1 };
  return cut.skip > 0 ? cut : undefined;
}

/** What the screen parses in place of the skipped bytes: back to the column they left. */
export function cursorTo(column: number): string {
  return column > 0 ? `\r\x1b[${column}C` : '\r';
}
