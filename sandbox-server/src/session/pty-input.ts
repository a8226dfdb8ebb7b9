/**
 * Types into a shell's pty.
 *
 * node-pty writes through libuv's thread pool (`fs.write`), so every keystroke waits for a pool
 * thread to wake before it reaches the shell: the one wake-up of five on an echo's path that the
 * server can drop (docs/performance.md has the figures). So we write the pty's master fd
 * ourselves, synchronously; whatever the pty cannot take yet (a paste into a program that is
 * not reading) waits in our own queue, in order, and is retried every few milliseconds.
 *
 * The fd stays node-pty's, and that is the risk this module is built around: node-pty closes it
 * when the shell side hangs up (read EIO), possibly long before the shell exits, and from then
 * on the number may name a file or socket opened since — writing it would type one person's
 * keys into someone else's. node-pty marks the terminal unwritable in the same turn of the event
 * loop as that close (its stream's error or close event, on the next tick, before any socket's
 * data can reach us), so we write only while it still says writable. A node-pty that does not
 * look like the one we read (`node-pty` is pinned in package.json) gets its own `write`, always.
 * tests/unit/session/pty-input.test.ts checks all of this against the real node-pty.
 */
import { writeSync } from 'node:fs';
import type { IPty } from 'node-pty';

/** How long input the pty could not take waits before it is offered again. */
const RETRY_MS = 2;

/** What node-pty 1.1.0's UnixTerminal has beyond IPty, and this module relies on. */
interface UnixPty {
  readonly fd: number;
  /** false from the moment node-pty has closed (or is about to close) the fd */
  readonly _writable: boolean;
}

function unixPty(pty: IPty): UnixPty | undefined {
  const candidate = pty as unknown as Partial<UnixPty>;
  return process.platform !== 'win32' &&
    typeof candidate.fd === 'number' &&
    candidate._writable === true
    ? (candidate as UnixPty)
    : undefined;
}

export class PtyInput {
  readonly #pty: IPty;
  readonly #direct: UnixPty | undefined;
  #queue: Buffer[] = [];
  #retry: NodeJS.Timeout | undefined;
  #disposed = false;

  constructor(pty: IPty) {
    this.#pty = pty;
    this.#direct = unixPty(pty);
  }

  /** Whether input is written straight to the fd (false: through node-pty's own write). */
  get direct(): boolean {
    return this.#direct !== undefined;
  }

  /** Bytes typed or pasted but not yet taken by the pty. */
  get queuedBytes(): number {
    let bytes = 0;
    for (const chunk of this.#queue) bytes += chunk.length;
    return bytes;
  }

  write(data: Uint8Array): void {
    if (this.#disposed || data.length === 0) return;
    if (!this.#direct) {
      this.#pty.write(Buffer.from(data));
      return;
    }
    // Our own buffer: the caller's may be reused once we return, and we may keep it.
    this.#queue.push(Buffer.from(data));
    if (this.#queue.length === 1) this.#drain();
  }

  #drain(): void {
    this.#retry = undefined;
    const direct = this.#direct;
    if (this.#disposed || !direct) return;
    while (this.#queue.length > 0) {
      if (!direct._writable) {
        // The fd is closed, or about to be: the shell cannot read any more of it.
        this.#queue = [];
        return;
      }
      const chunk = this.#queue[0]!;
      let written: number;
      try {
        written = writeSync(direct.fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
        // EIO and the like: the shell side is gone, and its exit is on its way.
        this.#queue = [];
        return;
      }
      if (written < chunk.length) {
        this.#queue[0] = chunk.subarray(written);
        break;
      }
      this.#queue.shift();
    }
    if (this.#queue.length > 0) this.#retry = setTimeout(() => this.#drain(), RETRY_MS);
  }

  /** Drops what waits and stops retrying; idempotent. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#queue = [];
  }
}
