/**
 * A session's screen, kept server-side so a reload or a dropped network gets back exactly what
 * was there (full-screen programs included): a headless xterm.js terminal fed the shell's
 * output, serialized on resume.
 *
 * Parsing is the expensive part, so it stays off the output hot path: chunks are queued and
 * fed in one batch per turn of the event loop, after the bytes have gone to the sockets.
 * `pendingBytes` lets the session apply back-pressure when the parser falls behind (a flood
 * with nobody attached must not grow memory without bound).
 */

import serialize from '@xterm/addon-serialize';
import headless from '@xterm/headless';

export interface ScreenOptions {
  cols: number;
  rows: number;
  scrollback: number;
}

export class Screen {
  readonly #terminal: InstanceType<typeof headless.Terminal>;
  readonly #serializer: InstanceType<typeof serialize.SerializeAddon>;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #parsing = 0;
  #scheduled = false;
  #disposed = false;
  #onDrain: (() => void) | undefined;

  constructor(options: ScreenOptions) {
    this.#terminal = new headless.Terminal({
      cols: options.cols,
      rows: options.rows,
      scrollback: options.scrollback,
      allowProposedApi: true,
    });
    this.#serializer = new serialize.SerializeAddon();
    this.#terminal.loadAddon(this.#serializer);
  }

  /** Bytes received but not yet parsed. */
  get pendingBytes(): number {
    return this.#queued + this.#parsing;
  }

  /** Called whenever the parser has caught up. */
  set onDrain(callback: (() => void) | undefined) {
    this.#onDrain = callback;
  }

  write(data: Uint8Array): void {
    if (this.#disposed) return;
    this.#queue.push(data);
    this.#queued += data.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#disposed || this.#queue.length === 0) return;
    const batch = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue);
    const size = this.#queued;
    this.#queue = [];
    this.#queued = 0;
    this.#parsing += size;
    this.#terminal.write(batch, () => {
      this.#parsing -= size;
      if (this.pendingBytes === 0) this.#onDrain?.();
    });
  }

  resize(cols: number, rows: number): void {
    if (this.#disposed) return;
    this.#flush();
    this.#terminal.resize(cols, rows);
  }

  /** The screen and scrollback as bytes that redraw them, once everything queued is parsed. */
  async serialize(): Promise<string> {
    this.#flush();
    await new Promise<void>((resolve) => this.#terminal.write('', resolve));
    if (this.#disposed) return '';
    return this.#serializer.serialize();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#queue = [];
    this.#terminal.dispose();
  }
}
