/**
 * Cuts a shell's output into WebSocket frames. A pty is read at most 4 KiB at a time, and
 * every frame costs a socket write on the server, a message event and an ack on the client,
 * and a parser call for the screen. So:
 *
 * - output that trickles (a keystroke's echo, a prompt, a short listing) goes out at once,
 *   in the same turn of the event loop it was read in;
 * - output that streams (the frame before was a full read, sent moments ago) waits up to
 *   `streamingDelayMs` to fill a frame of up to `maxFrameBytes`. A flood then costs a few
 *   hundred frames a second instead of tens of thousands, and its last bytes wait at most that
 *   long, which no reader can see.
 */

export interface OutputFrameOptions {
  /** a frame is sent as soon as it holds this much */
  maxFrameBytes: number;
  /** while output streams, how long a frame may wait to fill */
  streamingDelayMs: number;
  /** a frame at least this big, sent within `streamingDelayMs`, means the output streams */
  streamingFrameBytes: number;
}

export const DEFAULT_OUTPUT_FRAMES: OutputFrameOptions = {
  maxFrameBytes: 256 * 1024,
  streamingDelayMs: 2,
  // Over half a pty read: the shell wrote faster than it was read.
  streamingFrameBytes: 2048,
};

export class OutputFrames {
  readonly #send: (frame: Buffer) => void;
  readonly #options: OutputFrameOptions;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #lastFrameAt = Number.NEGATIVE_INFINITY;
  #lastFrameBytes = 0;
  #disposed = false;

  constructor(send: (frame: Buffer) => void, options: OutputFrameOptions = DEFAULT_OUTPUT_FRAMES) {
    this.#send = send;
    this.#options = options;
  }

  push(chunk: Buffer): void {
    if (this.#disposed || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes >= this.#options.maxFrameBytes) return this.flush();
    if (this.#timer || this.#immediate) return;
    if (this.#streaming()) {
      this.#timer = setTimeout(() => this.flush(), this.#options.streamingDelayMs);
    } else {
      // Reads of the same turn (libuv reads a ready pty several times) still share a frame.
      this.#immediate = setImmediate(() => this.flush());
    }
  }

  #streaming(): boolean {
    return (
      this.#lastFrameBytes >= this.#options.streamingFrameBytes &&
      performance.now() - this.#lastFrameAt < this.#options.streamingDelayMs
    );
  }

  /** Sends what is gathered now (before a control message that must follow it, say). */
  flush(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    if (this.#disposed || this.#bytes === 0) return;
    const frame = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#bytes = 0;
    this.#lastFrameAt = performance.now();
    this.#lastFrameBytes = frame.length;
    this.#send(frame);
  }

  /** Drops what is gathered and stops; idempotent. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#chunks = [];
    this.#bytes = 0;
  }
}
