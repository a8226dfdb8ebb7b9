/**
 * A session's screen, kept server-side so a reload or a dropped network gets back exactly what
 * was there (full-screen programs included): a headless xterm.js terminal fed the shell's
 * output, serialized on resume.
 *
 * Parsing is the expensive part, so it runs in one worker thread for all sessions
 * (screen-worker.ts), off the path that carries output to the sockets, and gets as little as
 * it can: a FloodFilter (screen-flood.ts) leaves out the middle of floods, which cannot change
 * what the screen shows, and the rest goes to the worker at most every 10 ms. `pendingBytes`
 * lets the session apply back-pressure when the parser falls behind, so a flood with nobody
 * attached cannot grow memory without bound.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../telemetry/log.ts';
import { FloodFilter, type ParserCursor, type ScreenGeometry } from './screen-flood.ts';
import type { ScreenReply, ScreenRequest } from './screen-worker.ts';

/** How long output waits to go to the worker, gathered with whatever follows it. */
const SCREEN_BATCH_MS = 10;

export type ScreenOptions = ScreenGeometry;

/** What a worker that is gone answers. */
const NO_CURSOR: ParserCursor = { column: 0, simple: false };

/** Owns the worker thread; sessions get their Screen from it. */
export class ScreenHost {
  readonly #log: Logger;
  #worker: Worker | undefined;
  readonly #screens = new Map<number, Screen>();
  readonly #serializing = new Map<number, (text: string) => void>();
  readonly #cursors = new Map<number, (cursor: ParserCursor) => void>();
  #nextId = 1;
  #nextRequest = 1;
  #disposed = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./screen-worker.ts', import.meta.url));
    worker.unref();
    worker.on('message', (message: ScreenReply) => {
      if (message.op === 'parsed') this.#screens.get(message.id)?.parsed(message.bytes);
      else if (message.op === 'cursor') {
        this.#cursors.get(message.request)?.(message);
        this.#cursors.delete(message.request);
      } else {
        this.#serializing.get(message.request)?.(message.text);
        this.#serializing.delete(message.request);
      }
    });
    worker.on('error', (error) => {
      // The screens are lost, the sessions are not: they resume without a replayed screen.
      this.#log.log('error', 'screen_worker_failed', { message: error.message });
      this.#worker = undefined;
      this.#answerAll();
      for (const screen of this.#screens.values()) screen.lost();
    });
    this.#worker = worker;
    return worker;
  }

  #answerAll(): void {
    for (const resolve of this.#serializing.values()) resolve('');
    this.#serializing.clear();
    for (const resolve of this.#cursors.values()) resolve(NO_CURSOR);
    this.#cursors.clear();
  }

  post(message: ScreenRequest, transfer?: ArrayBuffer[]): void {
    if (this.#disposed) return;
    this.#ensureWorker().postMessage(message, transfer);
  }

  open(options: ScreenOptions): Screen {
    const id = this.#nextId++;
    const screen = new Screen(this, id, options);
    this.#screens.set(id, screen);
    this.post({ op: 'open', id, ...options });
    return screen;
  }

  serialize(id: number): Promise<string> {
    if (this.#disposed) return Promise.resolve('');
    const request = this.#nextRequest++;
    return new Promise((resolve) => {
      this.#serializing.set(request, resolve);
      this.post({ op: 'serialize', id, request });
    });
  }

  /** Where screen `id`'s cursor is once everything posted to it is parsed. */
  cursor(id: number): Promise<ParserCursor> {
    if (this.#disposed) return Promise.resolve(NO_CURSOR);
    const request = this.#nextRequest++;
    return new Promise((resolve) => {
      this.#cursors.set(request, resolve);
      this.post({ op: 'cursor', id, request });
    });
  }

  forget(id: number): void {
    this.#screens.delete(id);
    this.post({ op: 'close', id });
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    this.#answerAll();
    await this.#worker?.terminate();
    this.#worker = undefined;
  }
}

export class Screen {
  readonly #host: ScreenHost;
  readonly #id: number;
  readonly #filter: FloodFilter;
  #scrollback: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #posted = 0;
  #scheduled = false;
  #disposed = false;
  #onDrain: (() => void) | undefined;

  constructor(host: ScreenHost, id: number, geometry: ScreenGeometry) {
    this.#host = host;
    this.#id = id;
    this.#scrollback = geometry.scrollback;
    this.#filter = new FloodFilter(geometry, {
      parse: (bytes) => this.#enqueue(bytes),
      askCursor: (question) => {
        // The question must come after everything before it: send that now.
        this.#flush();
        void this.#host.cursor(this.#id).then((cursor) => {
          if (this.#disposed) return;
          this.#filter.cursor(question, cursor);
          this.#onDrain?.();
        });
      },
    });
  }

  /** Bytes received but not yet parsed (those a flood's run keeps are bounded, not counted). */
  get pendingBytes(): number {
    return this.#queued + this.#posted + this.#filter.heldBytes;
  }

  /** Output left out of the parser because it could not change the screen. */
  get skippedBytes(): number {
    return this.#filter.skippedBytes;
  }

  /** Called whenever the parser has caught up. */
  set onDrain(callback: (() => void) | undefined) {
    this.#onDrain = callback;
  }

  write(data: Uint8Array): void {
    if (this.#disposed) return;
    this.#filter.write(data);
  }

  #enqueue(data: Uint8Array): void {
    this.#queue.push(data);
    this.#queued += data.length;
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Fed lazily: nobody sees this screen until a terminal resumes, and serialize() sends
    // what waits first. Waking the worker for each keystroke's echo would slow the echo
    // itself (the worker would run while the echo is on its way), so it is woken at most
    // every few ms, with everything since.
    setTimeout(() => this.#flush(), SCREEN_BATCH_MS);
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#disposed || this.#queue.length === 0) return;
    // One copy into a buffer of its own, which is then moved (not copied) to the worker.
    const batch = new Uint8Array(this.#queued);
    let offset = 0;
    for (const chunk of this.#queue) {
      batch.set(chunk, offset);
      offset += chunk.length;
    }
    this.#queue = [];
    this.#posted += this.#queued;
    this.#queued = 0;
    this.#host.post({ op: 'write', id: this.#id, data: batch }, [batch.buffer]);
  }

  /** The worker parsed `bytes` more. */
  parsed(bytes: number): void {
    this.#posted = Math.max(0, this.#posted - bytes);
    if (this.pendingBytes === 0) this.#onDrain?.();
  }

  /** The worker died: nothing it held will be acknowledged. */
  lost(): void {
    this.#posted = 0;
    this.#onDrain?.();
  }

  resize(cols: number, rows: number): void {
    if (this.#disposed) return;
    this.#filter.resize({ cols, rows, scrollback: this.#scrollback });
    this.#flush();
    this.#host.post({ op: 'resize', id: this.#id, cols, rows });
  }

  /** The screen and scrollback as bytes that redraw them, once everything received is parsed. */
  serialize(): Promise<string> {
    if (this.#disposed) return Promise.resolve('');
    this.#filter.release();
    this.#flush();
    return this.#host.serialize(this.#id);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#queue = [];
    this.#host.forget(this.#id);
  }
}
