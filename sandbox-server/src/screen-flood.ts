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
 * column, which a `PlainRun` works out as the text arrives. The screen then parses `CR`, a
 * cursor-forward to that column, and the rest. This assumes autowrap on and insert mode off,
 * with no scroll region; the caller checks those first.
 */

export interface ScreenGeometry {
  cols: number;
  rows: number;
  scrollback: number;
}

export interface FloodCut {
  /** bytes at the start of the run that need no parsing */
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

/**
 * Plain text received but not parsed yet, of which only what the screen can still show is kept:
 * once `2·rows + scrollback` line advances follow a point, everything before it is dropped.
 * It follows the cursor's column (autowrap included) as text arrives, in one pass, remembering
 * where the last `needed` line advances were; memory stays at about that many lines.
 */
export class PlainRun {
  readonly #cols: number;
  readonly #needed: number;
  readonly #dropEvery: number;
  /** where each of the last `needed` line advances happened, and the column just before */
  readonly #at: Float64Array;
  readonly #columnBefore: Int32Array;
  #advances = 0;
  #column: number;
  #chunks: Uint8Array[] = [];
  /** the run's offsets of the first byte kept and of the end */
  #start = 0;
  #end = 0;
  #cut: FloodCut | undefined;

  /**
   * `startColumn`: the cursor's column where the run begins (cols when a wrap is pending).
   * `dropEvery`: drop only once this much can go, rather than on every append.
   */
  constructor(startColumn: number, geometry: ScreenGeometry, dropEvery = 64 * 1024) {
    this.#cols = geometry.cols;
    this.#needed = 2 * geometry.rows + geometry.scrollback;
    this.#dropEvery = dropEvery;
    this.#at = new Float64Array(this.#needed);
    this.#columnBefore = new Int32Array(this.#needed);
    this.#column = startColumn;
  }

  /** Bytes kept, waiting to be parsed. */
  get keptBytes(): number {
    return this.#end - this.#start;
  }

  /** What has been dropped so far, and the column the cursor is in after it. */
  get cut(): FloodCut | undefined {
    return this.#cut;
  }

  /** Appends plain bytes (the caller has checked they are). They are kept, not copied. */
  append(bytes: Uint8Array): void {
    this.#follow(bytes, this.#end);
    this.#chunks.push(bytes);
    this.#end += bytes.length;
    this.#drop();
  }

  /** What to parse in place of the run: back to the cut's column, then the bytes kept. */
  take(): { lead: string; chunks: Uint8Array[] } {
    return { lead: this.#cut ? cursorTo(this.#cut.column) : '', chunks: this.#chunks };
  }

  #advance(position: number, column: number): void {
    const slot = this.#advances % this.#needed;
    this.#at[slot] = position;
    this.#columnBefore[slot] = column;
    this.#advances++;
  }

  /** Moves the cursor model over `bytes`, which start at offset `base` of the run. */
  #follow(bytes: Uint8Array, base: number): void {
    const cols = this.#cols;
    const needed = this.#needed;
    // Segment by segment: characters up to the next CR or LF, then that byte. Buffer's indexOf
    // is memchr; a typed array's is a loop in JavaScript.
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = text.length;
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
        const wraps = Math.floor((length - 1 + this.#column) / cols);
        // Only the last `needed` can matter; the others are counted.
        const uncounted = Math.max(0, wraps - needed);
        this.#advances += uncounted;
        for (let m = uncounted + 1; m <= wraps; m++) {
          this.#advance(base + i + m * cols - this.#column, cols);
        }
        this.#column = this.#column + length - wraps * cols;
      }
      if (control === end) break;
      if (control === nextCR) this.#column = 0;
      else {
        this.#advance(base + control, this.#column);
        // A line feed just after the last column leaves the cursor on the last column.
        if (this.#column >= cols) this.#column = cols - 1;
      }
      i = control + 1;
    }
  }

  /**
   * Drops what lies before the first of the last `needed` advances: there, or just before it
   * when a wrap was pending there (a cursor-forward cannot leave one pending; a character can).
   */
  #drop(): void {
    if (this.#cols < 2 || this.#advances < this.#needed) return;
    const oldest = this.#advances % this.#needed;
    let cut = this.#at[oldest]!;
    let column = this.#columnBefore[oldest]!;
    if (column >= this.#cols) {
      cut -= 1;
      column = this.#cols - 1;
    }
    if (cut <= this.#start || cut - this.#start < this.#dropEvery) return;
    let remove = cut - this.#start;
    while (remove > 0) {
      const first = this.#chunks[0]!;
      if (first.length <= remove) {
        remove -= first.length;
        this.#chunks.shift();
      } else {
        this.#chunks[0] = first.subarray(remove);
        remove = 0;
      }
    }
    this.#start = cut;
    this.#cut = { skip: cut, column };
  }
}

/** What the screen parses in place of the skipped bytes: back to the column they left. */
export function cursorTo(column: number): string {
  return column > 0 ? `\r\x1b[${column}C` : '\r';
}
