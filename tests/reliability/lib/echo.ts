/**
 * A session that echoes: the shell's terminal is put in raw mode without echo and runs `cat`,
 * so every byte typed comes back exactly once, unchanged (no line editing, no CR/LF
 * translation, no signals). The bytes that come back are compared, as they arrive, with the
 * bytes sent: one dropped, added or reordered byte is found, at its offset. The time from
 * sending a line to its last byte coming back is the echo latency.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { TerminalClient } from '../../support/terminal-client.ts';
import { createSession, openTerminal } from './terminal.ts';

/** What the shell prints once cat runs; the command line's own echo has it split in two. */
const BEGIN = Buffer.from('KN-ECHO-BEGIN\n');
export const ECHO_COMMAND = "stty raw -echo -iexten; printf '%s%s\\n' KN-ECHO- BEGIN; cat\r";

export class EchoSession {
  readonly client: TerminalClient;
  readonly label: string;
  readonly latencies: number[] = [];
  readonly errors: string[] = [];
  sentBytes = 0;
  verifiedBytes = 0;
  lines = 0;
  #started = false;
  #closing = false;
  #prefix = Buffer.alloc(0);
  /** bytes sent and not yet echoed, in order */
  #unverified: Buffer[] = [];
  #pending: { end: number; at: number }[] = [];
  #waiter: (() => void) | undefined;

  constructor(client: TerminalClient, label: string) {
    this.client = client;
    this.label = label;
    client.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#onBytes(data);
    });
    client.ws.on('close', (code, reason) => {
      if (this.#started && !this.#closing) {
        this.errors.push(`socket closed ${code} ${reason.toString()}`);
      }
      this.#waiter?.();
    });
  }

  static async open(baseUrl: string, label: string): Promise<EchoSession> {
    const session = await createSession(baseUrl);
    const client = await openTerminal(baseUrl, session, { cols: 200, rows: 50 });
    const echo = new EchoSession(client, label);
    await echo.start();
    return echo;
  }

  /** Starts cat in raw mode and waits until it runs. */
  async start(timeoutMs = 20_000): Promise<void> {
    this.client.type(ECHO_COMMAND);
    await this.#until(() => this.#started, timeoutMs, 'cat to start');
  }

  #onBytes(data: Buffer): void {
    if (!this.#started) {
      this.#prefix = Buffer.concat([this.#prefix, data]);
      const at = this.#prefix.indexOf(BEGIN);
      if (at < 0) return;
      this.#started = true;
      data = this.#prefix.subarray(at + BEGIN.length);
      this.#prefix = Buffer.alloc(0);
      if (data.length === 0) {
        this.#waiter?.();
        return;
      }
    }
    let offset = 0;
    while (offset < data.length) {
      const expected = this.#unverified[0];
      if (!expected) {
        this.errors.push(
          `${data.length - offset} unexpected bytes after offset ${this.verifiedBytes}: ${JSON.stringify(data.subarray(offset, offset + 40).toString('latin1'))}`,
        );
        return;
      }
      const n = Math.min(expected.length, data.length - offset);
      const got = data.subarray(offset, offset + n);
      if (!got.equals(expected.subarray(0, n))) {
        let i = 0;
        while (i < n && got[i] === expected[i]) i++;
        this.errors.push(
          `byte ${this.verifiedBytes + i} differs: got ${got[i]}, sent ${expected[i]} (dropped, added or reordered)`,
        );
        // Resynchronising is guesswork; stop checking this stream.
        this.#unverified = [];
        return;
      }
      offset += n;
      this.verifiedBytes += n;
      if (n === expected.length) this.#unverified.shift();
      else this.#unverified[0] = expected.subarray(n);
    }
    const now = performance.now();
    while (this.#pending[0] && this.#pending[0].end <= this.verifiedBytes) {
      this.latencies.push(now - this.#pending.shift()!.at);
    }
    this.#waiter?.();
  }

  /** Closes the socket (not an error). */
  close(): void {
    this.#closing = true;
    this.client.close();
  }

  /** Sends bytes as typed input; their echo is checked and timed. */
  send(bytes: Buffer): void {
    this.sentBytes += bytes.length;
    this.#unverified.push(bytes);
    this.#pending.push({ end: this.sentBytes, at: performance.now() });
    this.client.ws.send(bytes, { binary: true });
  }

  /** Waits until everything sent came back (or fails after `timeoutMs`). */
  drained(timeoutMs = 30_000): Promise<void> {
    return this.#until(
      () => this.verifiedBytes >= this.sentBytes || this.errors.length > 0,
      timeoutMs,
      `the echo of ${this.sentBytes - this.verifiedBytes} bytes`,
    );
  }

  /**
   * Types numbered lines until `untilMs` (performance.now()), each after the previous one
   * came back and a short random pause (a person typing, or a paste every few keystrokes).
   */
  async typeUntil(untilMs: number, pauseMs: [number, number] = [5, 40]): Promise<void> {
    while (performance.now() < untilMs && this.errors.length === 0) {
      this.send(numberedLine(this.label, this.lines++));
      await this.drained();
      await new Promise((resolve) => setTimeout(resolve, randomInt(pauseMs[0], pauseMs[1] + 1)));
    }
  }

  #until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiter = () => {
        if (this.client.closed && !check()) {
          clearTimeout(timer);
          this.#waiter = undefined;
          reject(new Error(`${this.label}: socket closed while waiting for ${what}`));
          return;
        }
        if (!check()) return;
        clearTimeout(timer);
        this.#waiter = undefined;
        resolve();
      };
    });
  }
}

const UTF8 = ['é', 'ß', '☸', 'ツ', '🚀', 'Ω'];

/**
 * `<label>:<n>:<payload>\n`. Most payloads are printable text with some multi-byte UTF-8;
 * every eighth is random bytes (any of the 256), which raw mode passes through unchanged.
 */
export function numberedLine(label: string, n: number): Buffer {
  const head = `${label}:${n}:`;
  if (n % 8 === 7) return Buffer.concat([Buffer.from(head), randomBytes(randomInt(8, 64))]);
  let text = '';
  const length = randomInt(8, 72);
  for (let i = 0; i < length; i++) {
    text +=
      randomInt(0, 12) === 0
        ? UTF8[randomInt(0, UTF8.length)]
        : String.fromCharCode(randomInt(0x20, 0x7f));
  }
  return Buffer.from(`${head}${text}\n`);
}
