/**
 * Cuts a shell's output into WebSocket frames. A pty is read at most 4 KiB at a time, and
 * every frame costs a socket write on the server, a message event and an ack on the client,
 * and a parser call for the screen. So:
 *
 * - output that trickles (a keystroke's echo, a prompt, a short listing) goes out the moment
 *   it is read: deferring even to the end of the event loop's turn shows in every echo;
 * - output that streams (`streamingBytes` or more sent in the last `streamingDelayMs`) waits up
 *   to `streamingDelayMs` to fill a frame of up to `maxFrameBytes`. A flood then costs a few
 *   hundred frames a second instead of tens of thousands, and its last bytes wait at most that
 *   long, which no reader can see.
 */

export interface OutputFrameOptions {
  /** a frame is sent as soon as it holds this much */
  maxFrameBytes: number;
  /** while output streams, how long a frame may wait to fill */
  streamingDelayMs: number;
  /** this much output within `streamingDelayMs` means the output streams */
  streamingBytes: number;
}

export const DEFAULT_OUTPUT_FRAMES: OutputFrameOptions = {
  maxFrameBytes: 256 * 1024,
  streamingDelayMs: 5,
  // Half a pty read in 5 ms (400 KiB/s): far above anything typed, far below a flood.
  streamingBytes: 2048,
};

export class OutputFrames {
  readonly #send: (frame: Buffer) => void;
  readonly #options: OutputFrameOptions;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #windowStart = Number.NEGATIVE_INFINITY;
  #windowBytes = 0;
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
    if (this.#timer) return;
    if (this.#streaming()) {
      this.#timer = setTimeout(() => this.flush(), this.#options.streamingDelayMs);
    } else this.flush();
  }

  #streaming(): boolean {
    return (
      performance.now() - this.#windowStart < this.#options.streamingDelayMs &&
      this.#windowBytes >= this.#options.streamingBytes
    );
  }

  /** Sends what is gathered now (before a control message that must follow it, say). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#disposed || this.#bytes === 0) return;
    const frame = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#bytes = 0;
    const now = performance.now();
    if (now - this.#windowStart >= this.#options.streamingDelayMs) {
      this.#windowStart = now;
      this.#windowBytes = 0;
    }
    this.#windowBytes += frame.length;
    this.#send(frame);
  }

  /** Drops what is gathered and stops; idempotent. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    this.#chunks = [];
    this.#bytes = 0;
  }
}
