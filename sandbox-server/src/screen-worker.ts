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
import { cursorTo, floodCut, GroundTracker } from './screen-flood.ts';

export type ScreenRequest =
  | { op: 'open'; id: number; cols: number; rows: number; scrollback: number }
  | { op: 'write'; id: number; data: Uint8Array }
  | { op: 'resize'; id: number; cols: number; rows: number }
  | { op: 'serialize'; id: number; request: number }
  | { op: 'close'; id: number };

export type ScreenReply =
  | { op: 'parsed'; id: number; bytes: number; skipped: number }
  | { op: 'serialized'; request: number; text: string };

/** Below this, a batch is parsed as it is: skipping would save little. */
const FLOOD_MINIMUM = 64 * 1024;
/**
 * After a batch of more than a screenful or two, wait this long before the next, so a flood
 * arrives in batches large enough to skip most of (of each, only the lines that stay in the
 * screen and scrollback must be parsed). Typing and prompts are parsed at once.
 */
const PAUSE_AFTER_BYTES = 16 * 1024;
const FLOOD_PAUSE_MS = 40;

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
        const skipped = await this.#feed(concat(task.chunks, task.bytes));
        if (this.#closed) break;
        reply({ op: 'parsed', id: this.#id, bytes: task.bytes, skipped });
        if (task.bytes >= PAUSE_AFTER_BYTES)
          await new Promise((r) => setTimeout(r, FLOOD_PAUSE_MS));
      } else if (task.op === 'resize') {
        this.terminal.resize(task.cols, task.rows);
      } else {
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

  /**
   * Parses `bytes`, leaving out the part of a flood that cannot change the screen; resolves
   * with how many bytes it left out.
   */
  async #feed(bytes: Uint8Array): Promise<number> {
    const run = this.#ground.scan(bytes, FLOOD_MINIMUM);
    if (!run) return this.#write(bytes).then(() => 0);
    if (run.start > 0) await this.#write(bytes.subarray(0, run.start));
    if (this.#closed) return 0;
    const { terminal } = this;
    const buffer = terminal.buffer.active;
    const simple =
      terminal.modes.wraparoundMode &&
      !terminal.modes.insertMode &&
      !terminal.modes.originMode &&
      !this.#regions[buffer.type];
    const rest = bytes.subarray(run.start);
    const cut = simple
      ? floodCut(rest.subarray(0, run.length), buffer.cursorX, {
          cols: terminal.cols,
          rows: terminal.rows,
          scrollback: this.#scrollback,
        })
      : undefined;
    if (!cut) return this.#write(rest).then(() => 0);
    this.terminal.write(cursorTo(cut.column));
    await this.#write(rest.subarray(cut.skip));
    return cut.skip;
  }
}

function concat(chunks: Uint8Array[], bytes: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const all = new Uint8Array(bytes);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
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
