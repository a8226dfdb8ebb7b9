/**
 * How much of a flood of plain text a session's screen may leave unparsed without changing what
 * it shows. Parsing is the screen's whole cost (xterm.js parses slower than a shell floods), and a
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

import { GroundTracker, plainLength } from './vt-ground.ts';

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

/** Plain text shorter than this (a prompt, a coloured name, a keystroke's echo) is parsed as it is. */
const SHORTEST_RUN = 256;
/** A run that keeps more than this (carriage returns without line feeds, say) is parsed. */
const LONGEST_KEPT = 1024 * 1024;
/** Output held while the parser says where its cursor is; past this it is parsed as it is. */
const LONGEST_HELD = 4 * 1024 * 1024;

/** Where the parser's cursor is, once it has parsed everything it was given. */
export interface ParserCursor {
  column: number;
  /** autowrap on, insert and origin modes off, no scroll region: a flood may be cut */
  simple: boolean;
}

export interface FloodFilterOutput {
  /** bytes the parser must parse, in order */
  parse(bytes: Uint8Array): void;
  /** Ask the parser for its cursor once it has parsed everything given so far; answer with `cursor(question, …)`. */
  askCursor(question: number): void;
}

/**
 * Stands between a session's output and its screen's parser, and leaves out of it the middle
 * of every flood (see PlainRun). Output goes through as it is until plain text begins in the
 * ground state; then the filter asks the parser where its cursor is (the parser runs behind, in
 * another thread), holds the output meanwhile, and follows the text from that column. When
 * anything but plain text comes, or someone is about to look (`release`), the parser gets a
 * cursor move standing for what was dropped, then what was kept.
 */
export class FloodFilter {
  readonly #out: FloodFilterOutput;
  #geometry: ScreenGeometry;
  readonly #ground = new GroundTracker();
  #run: PlainRun | undefined;
  #held: Uint8Array[] | undefined;
  #heldBytes = 0;
  #question = 0;
  /** plain text the parser was not able to have cut: passed through until it ends */
  #passingPlain = false;
  /** bytes left out of the parser so far */
  skippedBytes = 0;

  constructor(geometry: ScreenGeometry, out: FloodFilterOutput) {
    this.#geometry = geometry;
    this.#out = out;
  }

  /** Bytes held while the parser is asked where its cursor is. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  write(data: Uint8Array): void {
    if (this.#held) {
      this.#held.push(data);
      this.#heldBytes += data.length;
      if (this.#heldBytes > LONGEST_HELD) this.release();
      return;
    }
    this.#take(data);
  }

  /** The parser's answer to `askCursor(question)`. */
  cursor(question: number, cursor: ParserCursor): void {
    if (question !== this.#question || !this.#held) return;
    const held = this.#held;
    this.#held = undefined;
    this.#heldBytes = 0;
    if (cursor.simple) this.#run = new PlainRun(cursor.column, this.#geometry);
    else this.#passingPlain = true;
    for (const chunk of held) this.write(chunk);
  }

  /** Gives the parser everything: before a serialize or a resize, which must see it all. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    this.#heldBytes = 0;
    this.#question++;
    this.#endRun();
    // What was held started with plain text in the ground state; it is parsed as it is, and
    // no new run starts before the caller has had its look.
    if (held) {
      this.#passingPlain = true;
      for (const chunk of held) this.#take(chunk, false);
    }
  }

  resize(geometry: ScreenGeometry): void {
    this.release();
    this.#geometry = geometry;
  }

  #take(data: Uint8Array, mayFollow = true): void {
    const n = data.length;
    let i = 0;
    let from = 0;
    while (i < n) {
      if (this.#run || this.#passingPlain) {
        const length = plainLength(data, i);
        if (length > 0) {
          this.#run?.append(data.subarray(i, i + length));
          this.#ground.sawPlain(data[i + length - 1]!);
          i += length;
        }
        if (this.#run) from = i;
        if (i < n) {
          this.#passingPlain = false;
          this.#endRun();
        } else if (this.#run && this.#run.keptBytes > LONGEST_KEPT) this.#endRun();
        continue;
      }
      const at = this.#ground.untilPlain(data, i);
      if (at >= n) break;
      const length = plainLength(data, at);
      i = at + length;
      // Also at the end of the output so far, where it might go on in the next frame: a flood
      // comes in frames far longer, while a run started for an echo asked the worker where its
      // cursor was (a thread's wake-up, on the echo's heels) each time someone began to type.
      if (length < SHORTEST_RUN || !mayFollow) {
        this.#ground.sawPlain(data[i - 1]!);
        continue;
      }
      // Plain text begins: the parser must say where its cursor is before it can be followed.
      // What follows is held, from the start of the text (the tracker is in the same state
      // there as after it: ground, after a plain byte).
      if (at > from) this.#out.parse(data.subarray(from, at));
      this.#ground.sawPlain(data[i - 1]!);
      this.#held = [data.subarray(at)];
      this.#heldBytes = n - at;
      this.#out.askCursor(++this.#question);
      return;
    }
    if (from < n) this.#out.parse(data.subarray(from));
  }

  #endRun(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = undefined;
    this.skippedBytes += run.cut?.skip ?? 0;
    const { lead, chunks } = run.take();
    if (lead) this.#out.parse(Buffer.from(lead, 'latin1'));
    for (const chunk of chunks) this.#out.parse(chunk);
  }
}
