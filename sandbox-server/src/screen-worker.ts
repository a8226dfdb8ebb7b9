/**
 * The screens of every session, parsed off the main thread: the server posts each session's
 * output here and goes on serving sockets; this thread keeps a headless xterm.js per session
 * and serializes it when a terminal resumes. Each screen's work is done in order, so a
 * serialize sees every write posted before it; writes that queue up while the thread is busy
 * are parsed as one, and a flood's middle, which cannot change the screen, is left out
 * (screen-flood.ts).
 */
import { parentPort } from 'node:worker_threads';
import serialize from '@xterm/addon-serialize';
import headless from '@xterm/headless';
import { GroundTracker, PlainRun, plainLength } from './screen-flood.ts';

export type ScreenRequest =
  | { op: 'open'; id: number; cols: number; rows: number; scrollback: number }
  | { op: 'write'; id: number; data: Uint8Array }
  | { op: 'resize'; id: number; cols: number; rows: number }
  | { op: 'serialize'; id: number; request: number }
  | { op: 'close'; id: number };

export type ScreenReply =
  | { op: 'parsed'; id: number; bytes: number; skipped: number }
  | { op: 'serialized'; request: number; text: string };

/** Plain text shorter than this between two sequences (a prompt, a coloured name) is parsed as it is. */
const SHORTEST_RUN = 256;
/** A run that keeps more than this (carriage returns without line feeds, say) is parsed. */
const LONGEST_KEPT = 1024 * 1024;

type Task =
  | { op: 'write'; chunks: Uint8Array[]; bytes: number }
  | { op: 'resize'; cols: number; rows: number }
  | { op: 'serialize'; request: number };

/** One session's screen, and the work queued for it, done in order. */
class Entry {
  readonly terminal: InstanceType<typeof headless.Terminal>;
  readonly #serializer = new serialize.SerializeAddon();
  readonly #id: number;
  readonly #scrollback: number;
  readonly #ground = new GroundTracker();
  /** a scroll region set (by buffer): lines then stay put that a flood would scroll away */
  readonly #regions = { normal: false, alternate: false };
  #tasks: Task[] = [];
  #running = false;
  #closed = false;
  /** plain text received and not parsed yet (screen-flood.ts) */
  #plain: PlainRun | undefined;
  #dropped = 0;
  #droppedReported = 0;

  constructor(id: number, cols: number, rows: number, scrollback: number) {
    this.#id = id;
    this.#scrollback = scrollback;
    this.terminal = new headless.Terminal({ cols, rows, scrollback, allowProposedApi: true });
    this.terminal.loadAddon(this.#serializer);
    const { parser } = this.terminal;
    // Watched, not handled: returning false lets xterm.js apply them as usual.
    parser.registerCsiHandler({ final: 'r' }, (params) => {
      const top = Number(params[0] ?? 0) || 1;
      const bottom = Number(params[1] ?? 0) || this.terminal.rows;
      this.#regions[this.terminal.buffer.active.type] = top > 1 || bottom < this.terminal.rows;
      return false;
    });
    parser.registerCsiHandler({ intermediates: '!', final: 'p' }, () => {
      this.#regions[this.terminal.buffer.active.type] = false;
      return false;
    });
    parser.registerEscHandler({ final: 'c' }, () => {
      this.#regions.normal = false;
      this.#regions.alternate = false;
      return false;
    });
  }

  push(task: Task): void {
    const last = this.#tasks.at(-1);
    if (task.op === 'write' && last?.op === 'write') {
      last.chunks.push(...task.chunks);
      last.bytes += task.bytes;
    } else this.#tasks.push(task);
    if (!this.#running) void this.#run();
  }

  /** Answers what was still asked of it, and frees the terminal once no parse is under way. */
  close(): void {
    this.#closed = true;
    for (const task of this.#tasks) {
      if (task.op === 'serialize') reply({ op: 'serialized', request: task.request, text: '' });
    }
    this.#tasks = [];
    if (!this.#running) this.terminal.dispose();
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (!this.#closed && this.#tasks.length > 0) {
      const task = this.#tasks.shift()!;
      if (task.op === 'write') {
        for (const chunk of task.chunks) await this.#feed(chunk);
        if (this.#closed) break;
        const skipped = this.#dropped - this.#droppedReported;
        this.#droppedReported = this.#dropped;
        // Bytes kept in a run count as taken: they are bounded, and the session's flow control
        // must not wait for text that is only parsed when someone looks.
        reply({ op: 'parsed', id: this.#id, bytes: task.bytes, skipped });
        continue;
      }
      await this.#endRun();
      if (this.#closed) break;
      if (task.op === 'resize') this.terminal.resize(task.cols, task.rows);
      else {
        const skipped = this.#dropped - this.#droppedReported;
        this.#droppedReported = this.#dropped;
        if (skipped > 0) reply({ op: 'parsed', id: this.#id, bytes: 0, skipped });
        reply({ op: 'serialized', request: task.request, text: this.#serializer.serialize() });
      }
    }
    this.#running = false;
    // Closed while parsing: freed only now, so nothing serializes or parses freed state
    // (reliability suite, token-hygiene scenario: an attach right before a DELETE made xterm
    // report a leak from this thread).
    if (this.#closed) this.terminal.dispose();
  }

  #write(data: Uint8Array | string): Promise<void> {
    return new Promise((resolve) => this.terminal.write(data, resolve));
  }

  /** Parses what can change the screen now; keeps plain text in a run until it ends. */
  async #feed(bytes: Uint8Array): Promise<void> {
    const n = bytes.length;
    let i = 0;
    let parseFrom = 0;
    while (i < n && !this.#closed) {
      if (this.#plain) {
        const length = plainLength(bytes, i);
        if (length > 0) {
          this.#plain.append(bytes.subarray(i, i + length));
          this.#ground.sawPlain(bytes[i + length - 1]!);
          i += length;
        }
        parseFrom = i;
        if (i < n || this.#plain.keptBytes > LONGEST_KEPT) await this.#endRun();
        continue;
      }
      const at = this.#ground.untilPlain(bytes, i);
      if (at >= n) break;
      const length = plainLength(bytes, at);
      i = at + length;
      this.#ground.sawPlain(bytes[i - 1]!);
      if (length < SHORTEST_RUN && i < n) continue;
      // A run begins: what came before it is parsed first, for the cursor's column.
      await this.#write(bytes.subarray(parseFrom, at));
      parseFrom = at;
      if (this.#closed || !this.#simple()) continue;
      const { terminal } = this;
      this.#plain = new PlainRun(terminal.buffer.active.cursorX, {
        cols: terminal.cols,
        rows: terminal.rows,
        scrollback: this.#scrollback,
      });
      this.#plain.append(bytes.subarray(at, i));
      parseFrom = i;
    }
    if (parseFrom < n && !this.#closed) await this.#write(bytes.subarray(parseFrom));
  }

  /** Where a flood may be cut: autowrap on, insert mode off, no scroll region. */
  #simple(): boolean {
    const { modes, buffer } = this.terminal;
    return (
      modes.wraparoundMode &&
      !modes.insertMode &&
      !modes.originMode &&
      !this.#regions[buffer.active.type]
    );
  }

  /** Parses the run's kept text, after the move that stands for what it dropped. */
  async #endRun(): Promise<void> {
    const run = this.#plain;
    if (!run) return;
    this.#plain = undefined;
    this.#dropped += run.cut?.skip ?? 0;
    const { lead, chunks } = run.take();
    if (lead) this.terminal.write(lead);
    for (const chunk of chunks) this.terminal.write(chunk);
    await this.#write('');
  }
}

const screens = new Map<number, Entry>();
const port = parentPort;
if (!port) throw new Error('screen-worker.ts runs as a worker thread.');
const reply = (message: ScreenReply) => port.postMessage(message);

port.on('message', (message: ScreenRequest) => {
  switch (message.op) {
    case 'open':
      screens.set(
        message.id,
        new Entry(message.id, message.cols, message.rows, message.scrollback),
      );
      return;
    case 'write': {
      const entry = screens.get(message.id);
      const bytes = message.data.length;
      if (!entry) return reply({ op: 'parsed', id: message.id, bytes, skipped: 0 });
      entry.push({ op: 'write', chunks: [message.data], bytes });
      return;
    }
    case 'resize':
      screens.get(message.id)?.push(message);
      return;
    case 'serialize': {
      const entry = screens.get(message.id);
      if (!entry) return reply({ op: 'serialized', request: message.request, text: '' });
      entry.push(message);
      return;
    }
    case 'close':
      screens.get(message.id)?.close();
      screens.delete(message.id);
      return;
  }
});
