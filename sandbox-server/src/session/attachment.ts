/**
 * One socket attached to a session: sends it output and control messages, and counts the
 * output bytes it has not acknowledged yet (docs/protocol.md, flow control). It does not read
 * from the socket; terminal-socket.ts does, and tells the session.
 */
import type { WebSocket } from 'ws';
import { type ErrorCode, encode, type ServerMessage } from '../shared/protocol.ts';

export interface AttachmentOptions {
  readOnly: boolean;
  highWaterBytes: number;
  tooSlowMs: number;
  /** called once when the socket stayed above the high-water mark for `tooSlowMs` */
  onTooSlow: (attachment: Attachment) => void;
}

export class Attachment {
  readonly readOnly: boolean;
  readonly #ws: WebSocket;
  readonly #options: AttachmentOptions;
  #unacked = 0;
  /** output held back while the resumed screen is being serialized, so order is kept */
  #held: Uint8Array[] | null = null;
  #slowTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(ws: WebSocket, options: AttachmentOptions) {
    this.#ws = ws;
    this.#options = options;
    this.readOnly = options.readOnly;
  }

  get unacked(): number {
    return this.#unacked;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Holds output until `release`, for the replayed screen to go first. */
  hold(): void {
    this.#held ??= [];
  }

  release(first?: string): void {
    const held = this.#held ?? [];
    this.#held = null;
    if (first) this.#sendBytes(Buffer.from(first, 'utf8'));
    for (const chunk of held) this.#sendBytes(chunk);
  }

  sendOutput(chunk: Uint8Array): void {
    if (this.#held) this.#held.push(chunk);
    else this.#sendBytes(chunk);
  }

  #sendBytes(chunk: Uint8Array): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(chunk, { binary: true });
    this.#unacked += chunk.length;
    this.#watchSpeed();
  }

  ack(bytes: number): void {
    this.#unacked = Math.max(0, this.#unacked - bytes);
    this.#watchSpeed();
  }

  send(message: ServerMessage): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(encode(message));
  }

  error(code: ErrorCode, message: string): void {
    this.send({ type: 'error', code, message });
  }

  #watchSpeed(): void {
    const above = this.#unacked > this.#options.highWaterBytes;
    if (above && !this.#slowTimer) {
      this.#slowTimer = setTimeout(() => {
        this.#slowTimer = undefined;
        if (this.#unacked > this.#options.highWaterBytes) this.#options.onTooSlow(this);
      }, this.#options.tooSlowMs);
    } else if (!above && this.#slowTimer) {
      clearTimeout(this.#slowTimer);
      this.#slowTimer = undefined;
    }
  }

  /** Closes the socket with a protocol close code; the reason is the error code. Idempotent. */
  close(code: number, reason: ErrorCode | 'normal'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#slowTimer);
    this.#held = null;
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING) {
      this.#ws.close(code, reason);
    }
  }

  /** The socket went away by itself. */
  markClosed(): void {
    this.#closed = true;
    clearTimeout(this.#slowTimer);
    this.#held = null;
  }
}
