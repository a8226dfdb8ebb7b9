/**
 * Acknowledges rendered output in batches (docs/protocol.md, flow control: an ack may cover any
 * number of bytes): once 64 KiB are waiting, or 20 ms after the last render. An ack per frame
 * doubled the messages in a flood and woke the server once more for every echo. 64 KiB is well
 * under the server's low-water mark, so a shell paused for this client is always resumed.
 */
export const ACK_EVERY_BYTES = 64 * 1024;
export const ACK_DELAY_MS = 20;

export class AckBatcher {
  readonly #send: (bytes: number) => void;
  #bytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(send: (bytes: number) => void) {
    this.#send = send;
  }

  /** `bytes` more were rendered. */
  rendered(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes >= ACK_EVERY_BYTES) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), ACK_DELAY_MS);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const bytes = this.#bytes;
    this.#bytes = 0;
    if (bytes > 0) this.#send(bytes);
  }

  /** Forgets what was not sent (the socket it was for is gone). */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#bytes = 0;
  }
}
