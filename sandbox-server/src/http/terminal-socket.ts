/**
 * The WebSocket half of docs/protocol.md. Bad requests are refused at the HTTP upgrade, before a
 * socket is allocated (foreign origin, unknown session); then the first message must be a
 * valid attach within the attach timeout; after that, binary frames are input and text frames
 * are decoded control messages. A refused message gets an `error` message and the socket
 * stays open; only the attach step and size limits close it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ClusterViews } from '../cluster-view/cluster-views.ts';
import type { Config } from '../config/config.ts';
import type { Attachment } from '../session/attachment.ts';
import type { Session } from '../session/session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import {
  CloseCode,
  decodeClientMessage,
  type ErrorBody,
  type ErrorCode,
  isSessionId,
  Limits,
} from '../shared/protocol.ts';
import type { TaskChecks } from '../tasks/task-checks.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { isOriginAllowed, type OriginPolicy, originPolicy } from './origins.ts';
import type { TokenGuard } from './token-guard.ts';

/** `/api/sessions/<id>/terminal`: any segment, so that one that is no session id gets `no_session`. */
const TERMINAL_PATH = /^\/api\/sessions\/([^/]+)\/terminal$/;

export class TerminalSockets {
  readonly #wss: WebSocketServer;
  readonly #config: Config;
  readonly #origins: OriginPolicy;
  readonly #registry: SessionRegistry;
  readonly #log: Logger;
  readonly #alive = new WeakMap<WebSocket, boolean>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #metrics: Metrics | undefined;
  readonly #sessionTokens: TokenGuard;
  readonly #checks: TaskChecks | undefined;
  readonly #clusterViews: ClusterViews | undefined;

  constructor(init: {
    config: Config;
    registry: SessionRegistry;
    log: Logger;
    metrics?: Metrics;
    /** session tokens, checked here and by the HTTP API against one budget */
    sessionTokens: TokenGuard;
    /** runs tasks' checks (tasks/task-checks.ts) */
    checks?: TaskChecks;
    /** streams the session's namespace to sockets that subscribe (docs/cluster-view.md) */
    clusterViews?: ClusterViews;
  }) {
    this.#checks = init.checks;
    this.#clusterViews = init.clusterViews;
    this.#metrics = init.metrics;
    this.#sessionTokens = init.sessionTokens;
    this.#config = init.config;
    this.#origins = originPolicy(init.config);
    this.#registry = init.registry;
    this.#log = init.log;
    this.#wss = new WebSocketServer({
      noServer: true,
      // ws closes larger frames with 1009 itself; text frames get the smaller limit below.
      maxPayload: Limits.maxBinaryBytes,
      perMessageDeflate: false,
    });
    this.#heartbeat = setInterval(() => this.#beat(), this.#config.heartbeat);
    this.#heartbeat.unref();
  }

  get connections(): number {
    return this.#wss.clients.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    const match = TERMINAL_PATH.exec(path);
    if (!match) {
      this.#metrics?.error('not_found');
      return refuse(socket, 404, 'not_found', `There is no WebSocket endpoint at ${path}.`);
    }
    if (!isOriginAllowed(req.headers, this.#origins)) {
      this.#log.log('warn', 'origin_refused', { origin: req.headers.origin });
      this.#metrics?.error('origin_not_allowed');
      return refuse(
        socket,
        403,
        'origin_not_allowed',
        `Pages from ${req.headers.origin} may not use this sandbox. The instructor can allow it with --allowed-origin.`,
      );
    }
    const id = match[1] ?? '';
    const session = isSessionId(id) ? this.#registry.get(id) : undefined;
    if (!session) {
      this.#metrics?.error('no_session');
      return refuse(socket, 404, 'no_session', `There is no session ${id}; start a new one.`);
    }
    const client = this.#sessionTokens.client(req);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, session, client));
  }

  #accept(ws: WebSocket, session: Session, client: string): void {
    this.#alive.set(ws, true);
    ws.on('pong', () => this.#alive.set(ws, true));
    let attachment: Attachment | undefined;
    let attaching = false;
    /** messages that arrived while the attach was being answered, handled after it */
    let early: [Buffer, boolean][] = [];
    const timer = setTimeout(() => {
      if (!attachment) close(ws, CloseCode.badAttach, 'attach_timeout');
    }, this.#config.sessions.attachTimeout);

    ws.on('message', (data, isBinary) => {
      const bytes = toBytes(data);
      if (!isBinary && bytes.length > Limits.maxTextBytes) {
        return close(ws, CloseCode.tooLarge, 'too_large');
      }
      if (!attachment) {
        if (attaching) {
          early.push([bytes, isBinary]);
          return;
        }
        clearTimeout(timer);
        attaching = true;
        this.#attach(ws, session, client, bytes, isBinary).then(
          (attached) => {
            attachment = attached;
            const queued = early;
            early = [];
            if (!attached) return;
            for (const [b, binary] of queued) this.#onMessage(session, attached, b, binary);
          },
          (error: Error) => this.#fault(ws, error),
        );
        return;
      }
      try {
        this.#onMessage(session, attachment, bytes, isBinary);
      } catch (error) {
        this.#fault(ws, error as Error);
      }
    });
    ws.on('close', () => {
      clearTimeout(timer);
      if (attachment) {
        this.#clusterViews?.unsubscribe(attachment);
        session.detach(attachment);
      }
    });
    ws.on('error', (error) => this.#log.log('warn', 'socket_error', { message: error.message }));
  }

  async #attach(
    ws: WebSocket,
    session: Session,
    client: string,
    bytes: Buffer,
    isBinary: boolean,
  ): Promise<Attachment | undefined> {
    if (isBinary) {
      close(ws, CloseCode.badAttach, 'malformed_message');
      return undefined;
    }
    const decoded = decodeClientMessage(bytes.toString('utf8'));
    if (!decoded.ok || decoded.message.type !== 'attach') {
      close(ws, CloseCode.badAttach, decoded.ok ? 'invalid_message' : decoded.code);
      return undefined;
    }
    const { token, cols, rows } = decoded.message;
    // The session's own token, or the instructor's admin token (which only ever watches).
    const checked = this.#sessionTokens.check(client, token, [
      session.token,
      this.#config.adminToken,
    ]);
    if (!checked.ok) {
      const limited = checked.code === 'rate_limited';
      this.#log.log('warn', 'bad_token', { session: session.id, limited });
      this.#metrics?.error(checked.code);
      close(ws, CloseCode.badToken, checked.code);
      return undefined;
    }
    const isOwner = checked.matched === 0;
    if (session.ended) {
      close(ws, CloseCode.noSession, 'no_session');
      return undefined;
    }
    const readOnly = decoded.message.readOnly === true || !isOwner;
    const attachment = await session.attach(ws, { cols, rows, readOnly });
    if (ws.readyState !== ws.OPEN) session.detach(attachment);
    return attachment;
  }

  #onMessage(session: Session, attachment: Attachment, bytes: Buffer, isBinary: boolean): void {
    if (isBinary) return session.input(attachment, bytes);
    const decoded = decodeClientMessage(bytes.toString('utf8'));
    if (!decoded.ok) return attachment.error(decoded.code, decoded.message);
    const message = decoded.message;
    switch (message.type) {
      case 'attach':
        return attachment.error('invalid_message', 'This socket is already attached.');
      case 'resize':
        if (attachment.readOnly) return;
        return session.resize(message.cols, message.rows);
      case 'ack':
        return session.ack(attachment, message.bytes);
      case 'progress':
        if (attachment.readOnly) return;
        return session.progress(message);
      case 'check':
        if (attachment.readOnly) {
          return attachment.error('read_only', 'A watching terminal cannot check tasks.');
        }
        return this.#checks?.request(session, message);
      case 'reset':
        if (attachment.readOnly) return;
        return session.forget(message.page, message.chapter);
      case 'reset-namespace':
        if (attachment.readOnly) {
          return attachment.error('read_only', 'A watching terminal cannot reset a namespace.');
        }
        return void session.resetNamespace();
      case 'cluster-subscribe':
        if (!this.#clusterViews) {
          return attachment.send({
            type: 'cluster-unavailable',
            message: 'This sandbox does not offer the cluster view.',
          });
        }
        return this.#clusterViews.subscribe(session, attachment);
      case 'cluster-unsubscribe':
        return this.#clusterViews?.unsubscribe(attachment);
    }
  }

  #fault(ws: WebSocket, error: Error): void {
    this.#log.log('error', 'socket_fault', { message: error.message, stack: error.stack });
    close(ws, CloseCode.serverFault, 'server_fault');
  }

  /** Pings every socket; one that did not answer the last ping is ended. */
  #beat(): void {
    for (const ws of this.#wss.clients) {
      if (this.#alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.#alive.set(ws, false);
      ws.ping();
    }
  }

  dispose(): void {
    clearInterval(this.#heartbeat);
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }
}

function close(ws: WebSocket, code: number, reason: ErrorCode): void {
  if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Answers an upgrade request with an HTTP error and the JSON error body, then hangs up. */
export function refuse(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
  const reason =
    { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[
      status
    ] ?? '';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
