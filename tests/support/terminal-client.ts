/**
 * A protocol client for Node: what tests, doc-tests and benchmarks use to drive a real
 * sandbox server over a real WebSocket. It speaks docs/protocol.md exactly (attach, ack every
 * output frame unless told not to, decode control messages) and reads the OSC 133 marks to
 * know when a command ended and with which code.
 */
import { WebSocket } from 'ws';
import {
  decodeServerMessage,
  encode,
  type ServerMessage,
  SessionCreatedBody,
  terminalPath,
} from '../../sandbox-server/src/shared/protocol.ts';
import { type ShellMark, ShellMarkReader } from '../../sandbox-server/src/shared/shell-marks.ts';

export interface CreatedSession {
  id: string;
  token: string;
  namespace: string;
  expiresAt: string;
}

export async function createSession(
  baseUrl: string,
  body: Record<string, unknown> = {},
): Promise<CreatedSession> {
  const res = await fetch(`${baseUrl}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) {
    throw new Error(`POST /api/sessions answered ${res.status}: ${await res.text()}`);
  }
  return SessionCreatedBody.parse(await res.json());
}

/** Ends a session as its owner would (DELETE with its token); resolves with the answer. */
export function endSession(
  baseUrl: string,
  session: { id: string; token: string },
): Promise<Response> {
  return fetch(`${baseUrl}/api/sessions/${session.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${session.token}` },
  });
}

export interface AttachOptions {
  cols?: number;
  rows?: number;
  readOnly?: boolean;
  /** false: never acknowledge output (a stalled client) */
  ack?: boolean;
  origin?: string;
  token?: string;
}

export interface CommandResult {
  exitCode: number | undefined;
  /** output between the command's start and end marks, escape sequences included */
  output: string;
}

export class TerminalClient {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  /** every output byte received, in order, decoded as UTF-8 */
  output = '';
  bytesReceived = 0;
  ready: { session: string; resumed: boolean } | undefined;
  closed: { code: number; reason: string } | undefined;
  /** the first binary frame after a resumed ready: the replayed screen */
  replay: string | undefined;
  readonly #marks = new ShellMarkReader();
  readonly #markLog: { mark: ShellMark; at: number }[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #ack: boolean;
  readonly #decoder = new TextDecoder();
  readonly #listeners = new Set<(text: string) => void>();

  private constructor(ws: WebSocket, ack: boolean) {
    this.ws = ws;
    this.#ack = ack;
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
  }

  /** Opens the socket and sends the attach; resolves once the socket is open. */
  static async connect(
    baseUrl: string,
    session: { id: string; token: string },
    options: AttachOptions = {},
  ): Promise<TerminalClient> {
    const url = baseUrl.replace(/^http/, 'ws') + terminalPath(session.id);
    const headers: Record<string, string> = options.origin ? { origin: options.origin } : {};
    const ws = new WebSocket(url, { headers });
    const client = new TerminalClient(ws, options.ack ?? true);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
      });
    });
    ws.send(
      encode({
        type: 'attach',
        token: options.token ?? session.token,
        cols: options.cols ?? 100,
        rows: options.rows ?? 30,
        ...(options.readOnly ? { readOnly: true } : {}),
      }),
    );
    return client;
  }

  /** Connects and waits for `ready` and, for the first attach, the first prompt. */
  static async open(
    baseUrl: string,
    session: { id: string; token: string },
    options: AttachOptions = {},
    timeoutMs = 10_000,
  ): Promise<TerminalClient> {
    const client = await TerminalClient.connect(baseUrl, session, options);
    await client.waitFor(() => client.ready !== undefined, timeoutMs, 'ready');
    // The first prompt may have arrived in the same read as `ready`: count it from the start.
    if (!client.ready?.resumed && !options.readOnly) {
      await client.waitFor(
        () => client.#markLog.some((e) => e.mark.kind === 'prompt'),
        timeoutMs,
        'the first prompt',
      );
    }
    return client;
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.bytesReceived += data.length;
      const text = this.#decoder.decode(data, { stream: true });
      if (this.ready?.resumed && this.replay === undefined) this.replay = text;
      this.output += text;
      for (const listener of this.#listeners) listener(text);
      const now = Date.now();
      for (const mark of this.#marks.read(text)) this.#markLog.push({ mark, at: now });
      if (this.#ack) this.send({ type: 'ack', bytes: data.length });
    } else {
      const decoded = decodeServerMessage(data.toString('utf8'));
      if (!decoded.ok) throw new Error(`The server sent a bad message: ${decoded.message}`);
      this.messages.push(decoded.message);
      if (decoded.message.type === 'ready') this.ready = decoded.message;
    }
    this.#wake();
  }

  #wake(): void {
    for (const waiter of this.#waiters) waiter();
  }

  /** Calls `listener` with each piece of output, decoded. */
  onText(listener: (text: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  send(message: Parameters<typeof encode>[0]): void {
    this.ws.send(encode(message));
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text, 'utf8'), { binary: true });
  }

  /** Resolves when `check` holds; rejects with what was seen after `timeoutMs`. */
  waitFor(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for ${what}. Closed: ${JSON.stringify(this.closed)}. Last output: ${JSON.stringify(this.output.slice(-500))}`,
          ),
        );
      }, timeoutMs);
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve();
      };
      this.#waiters.add(waiter);
    });
  }

  waitForText(text: string, timeoutMs = 10_000): Promise<void> {
    const from = this.output.length;
    return this.waitFor(() => this.output.includes(text, from), timeoutMs, JSON.stringify(text));
  }

  waitForMessage<T extends ServerMessage['type']>(
    type: T,
    timeoutMs = 10_000,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const from = this.messages.length;
    const find = () => this.messages.slice(from).find((m) => m.type === type);
    return this.waitFor(() => find() !== undefined, timeoutMs, `a ${type} message`).then(
      () => find() as Extract<ServerMessage, { type: T }>,
    );
  }

  waitForClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return this.waitFor(() => this.closed !== undefined, timeoutMs, 'close').then(
      () => this.closed!,
    );
  }

  waitForMark(kind: ShellMark['kind'], timeoutMs = 10_000): Promise<ShellMark> {
    const from = this.#markLog.length;
    const find = () => this.#markLog.slice(from).find((entry) => entry.mark.kind === kind);
    return this.waitFor(() => find() !== undefined, timeoutMs, `mark ${kind}`).then(
      () => find()!.mark,
    );
  }

  /**
   * Types a command line and waits for its end mark. Resolves with the exit code and the
   * output between the start and end marks.
   */
  async run(command: string, timeoutMs = 30_000): Promise<CommandResult> {
    const markFrom = this.#markLog.length;
    const outputFrom = this.output.length;
    this.type(`${command}\r`);
    const end = () =>
      this.#markLog.slice(markFrom).find((entry) => entry.mark.kind === 'command-end');
    await this.waitFor(() => end() !== undefined, timeoutMs, `the end of ${command}`);
    const mark = end()!.mark as Extract<ShellMark, { kind: 'command-end' }>;
    const text = this.output.slice(outputFrom);
    const start = text.indexOf('\x1b]133;C\x07');
    const stop = text.indexOf('\x1b]133;D');
    return {
      exitCode: mark.exitCode,
      output: text.slice(start < 0 ? 0 : start + 8, stop < 0 ? undefined : stop),
    };
  }

  close(): void {
    this.ws.close();
  }
}

export class UpgradeRefused extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`The upgrade was refused with ${status}: ${body}`);
    this.status = status;
    this.body = body;
  }
}

/** Terminal output without escape sequences, for assertions on what a person would read. */
export function plain(text: string): string {
  return text
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '')
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]/g, '')
    .replace(/\r/g, '');
}
