/**
 * Clients that send what a well-behaved one would not: an HTTP request written byte by byte
 * on a TCP socket (any method, any request target, NUL bytes, garbage), and a WebSocket that
 * sends any frame and records every answer.
 */
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { terminalPath } from '../../../sandbox-server/src/shared/protocol.ts';

export interface RawResponse {
  /** undefined: the server closed the connection without an answer */
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

/** Sends `request` as is on a new TCP connection; resolves with the answer when it closes. */
export function rawHttp(
  baseUrl: string,
  request: Buffer | string,
  timeoutMs = 10_000,
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    // write, not end: a client that half-closes has its request aborted by Node's HTTP server.
    const socket = connect(Number(port), hostname, () => socket.write(request));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks)));
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', done);
    socket.on('error', () => undefined);
  });
}

function parseResponse(data: Buffer): RawResponse {
  const raw = data.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body =
    end < 0
      ? ''
      : data.subarray(Buffer.byteLength(raw.slice(0, end + 4), 'latin1')).toString('utf8');
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status: status ? Number(status) : undefined, headers, body, raw };
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const line = rest.indexOf('\r\n');
    if (line < 0) return out;
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!size) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}

/** A request as text: method, target, headers, body (Content-Length set when there is one). */
export function httpRequest(
  baseUrl: string,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body: Buffer | string = '',
): Buffer {
  const { host } = new URL(baseUrl);
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  let head = `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  if (bytes.length > 0 || method === 'POST') head += `Content-Length: ${bytes.length}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), bytes]);
}

export interface Received {
  text?: unknown;
  binary?: number;
}

/** A terminal socket for hostile clients: sends anything, keeps everything it gets. */
export class RawSocket {
  readonly ws: WebSocket;
  readonly received: Received[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly #waiters = new Set<() => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.received.push({ binary: data.length });
      else {
        let text: unknown = data.toString('utf8');
        try {
          text = JSON.parse(text as string);
        } catch {
          // kept as the raw string: the server sent something that is not JSON
        }
        this.received.push({ text });
      }
      this.#wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
    ws.on('error', () => undefined);
  }

  static open(
    baseUrl: string,
    sessionId: string,
    headers: Record<string, string> = {},
  ): Promise<RawSocket> {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + terminalPath(sessionId), {
      headers,
      maxPayload: 64 * 1024 * 1024,
    });
    const socket = new RawSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () =>
          reject(
            Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), {
              status: res.statusCode,
              body,
            }),
          ),
        );
      });
      ws.once('error', reject);
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters) waiter();
  }

  /** Resolves true when `check` holds, false after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(true);
      };
      this.#waiters.add(waiter);
    });
  }

  send(data: Buffer | string, binary: boolean): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(data, { binary });
  }

  texts(from = 0): unknown[] {
    return this.received
      .slice(from)
      .filter((r) => 'text' in r)
      .map((r) => r.text);
  }

  terminate(): void {
    this.ws.terminate();
  }
}
