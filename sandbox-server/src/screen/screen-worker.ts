/**
 * The screens of every session, parsed off the main thread: the server posts each session's
 * output here and goes on serving sockets; this thread keeps a headless xterm.js per session
 * and serializes it when a terminal resumes. Each screen's work is done in order, so a
 * serialize sees every write posted before it, and writes that queue up while the thread is
 * busy are parsed together. A flood's middle, which cannot change the screen, never gets here:
 * the session's FloodFilter (screen-flood.ts) leaves it out, asking this thread for its cursor.
 */
import { parentPort } from 'node:worker_threads';
import serialize from '@xterm/addon-serialize';
import headless from '@xterm/headless';

export type ScreenRequest =
  | { op: 'open'; id: number; cols: number; rows: number; scrollback: number }
  | { op: 'write'; id: number; data: Uint8Array }
  | { op: 'resize'; id: number; cols: number; rows: number }
  | { op: 'serialize'; id: number; request: number }
  | { op: 'cursor'; id: number; request: number }
  | { op: 'close'; id: number };

export type ScreenReply =
  | { op: 'parsed'; id: number; bytes: number }
  | { op: 'serialized'; request: number; text: string }
  | { op: 'cursor'; request: number; column: number; simple: boolean };

type Task =
  | { op: 'write'; chunks: Uint8Array[]; bytes: number }
  | { op: 'resize'; cols: number; rows: number }
  | { op: 'serialize'; request: number }
  | { op: 'cursor'; request: number };

/** One session's screen, and the work queued for it, done in order. */
class Entry {
  readonly terminal: InstanceType<typeof headless.Terminal>;
  readonly #serializer = new serialize.SerializeAddon();
  readonly #id: number;
  /** a scroll region set (by buffer): lines then stay put that a flood would scroll away */
  readonly #regions = { normal: false, alternate: false };
  #tasks: Task[] = [];
  #running = false;
  #closed = false;

  constructor(id: number, cols: number, rows: number, scrollback: number) {
    this.#id = id;
    this.terminal = new headless.Terminal({ cols, rows, scrollback, allowProposedApi: true });
    this.terminal.loadAddon(this.#serializer);
    const { parser } = this.terminal;
    // Watched, not handled: returning false lets xterm.js apply them as usual.
    // A parameter with sub-parameters (`5:1`) counts by its first value, as xterm.js reads it.
    const value = (param: number | number[] | undefined) =>
      (Array.isArray(param) ? param[0] : param) ?? 0;
    parser.registerCsiHandler({ final: 'r' }, (params) => {
      const top = value(params[0]) || 1;
      const bottom = value(params[1]) || this.terminal.rows;
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
      if (task.op === 'cursor')
        reply({ op: 'cursor', request: task.request, column: 0, simple: false });
    }
    this.#tasks = [];
    if (!this.#running) this.terminal.dispose();
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (!this.#closed && this.#tasks.length > 0) {
      const task = this.#tasks.shift()!;
      if (task.op === 'write') {
        for (const chunk of task.chunks) this.terminal.write(chunk);
        await new Promise<void>((resolve) => this.terminal.write('', resolve));
        if (this.#closed) break;
        reply({ op: 'parsed', id: this.#id, bytes: task.bytes });
      } else if (task.op === 'resize') {
        this.terminal.resize(task.cols, task.rows);
      } else if (task.op === 'cursor') {
        const column = this.terminal.buffer.active.cursorX;
        reply({ op: 'cursor', request: task.request, column, simple: this.#simple() });
      } else {
        reply({ op: 'serialized', request: task.request, text: this.#serializer.serialize() });
      }
    }
    this.#running = false;
    // Closed while parsing: freed only now, so nothing serializes or parses freed state (an
    // attach right before a DELETE would otherwise have xterm report a leak from this thread).
    if (this.#closed) this.terminal.dispose();
  }

  /** Where a flood may be cut: autowrap on, insert and origin modes off, no scroll region. */
  #simple(): boolean {
    const { modes, buffer } = this.terminal;
    return (
      modes.wraparoundMode &&
      !modes.insertMode &&
      !modes.originMode &&
      !this.#regions[buffer.active.type]
    );
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
      if (!entry) return reply({ op: 'parsed', id: message.id, bytes });
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
    case 'cursor': {
      const entry = screens.get(message.id);
      // No screen: the filter is told nothing may be cut, and passes the text through.
      if (!entry)
        return reply({ op: 'cursor', request: message.request, column: 0, simple: false });
      entry.push(message);
      return;
    }
    case 'close':
      screens.get(message.id)?.close();
      screens.delete(message.id);
      return;
  }
});
