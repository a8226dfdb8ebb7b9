/**
 * The instructor's endpoints (docs/protocol.md, Admin), behind the admin token: list sessions with
 * what each participant last ran, a live event stream (Server-Sent Events), end or extend a
 * session, broadcast a notice to every terminal; and `GET /metrics`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Config } from '../config/config.ts';
import type { Session } from '../session/session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import {
  type AdminEvent,
  type BroadcastBody,
  type ExtendedBody,
  isSessionId,
  type SessionSummary,
} from '../shared/protocol.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { HttpError, readJsonBody, sendJson } from './http-error.ts';
import { WRONG_TOKENS_PER_MINUTE } from './rate-limit.ts';
import { TokenGuard } from './token-guard.ts';

/** `/api/admin/sessions/<id>[/extend]`: any segment; one that is no session id is `no_session`. */
const SESSION_PATH = /^\/api\/admin\/sessions\/([^/]+)(\/extend)?$/;
const Extend = z.object({
  minutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60),
});
const Broadcast = z.object({ message: z.string().trim().min(1).max(500) });

function sessionSummary(session: Session): SessionSummary {
  const progress = session.lastProgress;
  return {
    id: session.id,
    namespace: session.namespace,
    createdAt: new Date(session.createdAt).toISOString(),
    lastActiveAt: new Date(session.lastActiveAt).toISOString(),
    expiresAt: new Date(session.expiresAt).toISOString(),
    attached: session.attached,
    progress: progress
      ? {
          page: progress.page,
          snippet: progress.snippet,
          state: progress.state,
          ...(progress.code === undefined ? {} : { code: progress.code }),
        }
      : null,
    // Each task checked, `<chapter>/<task>` → its state (docs/tasks.md).
    tasks: Object.fromEntries(
      [...session.tasks].map(([key, task]) => [
        key,
        {
          state: task.state,
          failures: task.failures,
          since: new Date(task.since).toISOString(),
          message: task.message,
          ...(task.command === undefined ? {} : { command: task.command }),
        },
      ]),
    ),
  };
}

export class AdminApi {
  readonly #config: Config;
  readonly #registry: SessionRegistry;
  readonly #metrics: Metrics;
  readonly #streams = new Set<ServerResponse>();
  /** admin tokens, with a budget of wrong ones of their own */
  readonly #tokens: TokenGuard;
  readonly #keepAlive: NodeJS.Timeout;

  constructor(init: { config: Config; registry: SessionRegistry; metrics: Metrics }) {
    this.#config = init.config;
    this.#registry = init.registry;
    this.#metrics = init.metrics;
    this.#tokens = new TokenGuard({
      wrongPerMinute: WRONG_TOKENS_PER_MINUTE,
      trustProxy: init.config.trustProxy,
    });
    // A comment line every 15 s keeps proxies from closing a quiet stream.
    this.#keepAlive = setInterval(() => {
      for (const res of this.#streams) res.write(': keep-alive\n\n');
    }, 15_000);
    this.#keepAlive.unref();
    init.registry.observe({
      onCreated: (session) => this.#publish({ type: 'created', session: sessionSummary(session) }),
      onEnded: (session, reason) => this.#publish({ type: 'ended', id: session.id, reason }),
      onProgress: (session) =>
        this.#publish({ type: 'progress', session: sessionSummary(session) }),
      onAttachChange: (session) =>
        this.#publish({ type: 'attached', session: sessionSummary(session) }),
      // A task checked: the summary carries the session's tasks.
      onTask: (session) => this.#publish({ type: 'progress', session: sessionSummary(session) }),
    });
  }

  /** Sends an event to every open instructor stream. */
  #publish(event: AdminEvent): void {
    if (this.#streams.size === 0) return;
    const frame = eventFrame(event);
    for (const res of this.#streams) res.write(frame);
  }

  #authorize(req: IncomingMessage): void {
    const expected = this.#config.adminToken;
    if (!expected) {
      throw new HttpError(
        404,
        'not_found',
        'The instructor API is off: start the sandbox with --admin-token (at least 16 characters).',
      );
    }
    this.#tokens.authorize(req, expected, 'admin');
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    this.#authorize(req);
    const method = req.method ?? 'GET';
    if (path === '/api/admin/sessions' && method === 'GET') {
      return sendJson(res, 200, this.#registry.all().map(sessionSummary));
    }
    if (path === '/api/admin/events' && method === 'GET') return this.#stream(req, res);
    if (path === '/api/admin/broadcast' && method === 'POST') {
      const body = Broadcast.safeParse(await readJsonBody(req));
      if (!body.success)
        throw new HttpError(
          400,
          'bad_request',
          'The body must be {"message": "…"} (1 to 500 characters).',
        );
      for (const session of this.#registry.all())
        session.broadcast({ type: 'notice', message: body.data.message });
      return sendJson(res, 202, { sent: this.#registry.active } satisfies BroadcastBody);
    }
    const match = SESSION_PATH.exec(path);
    if (match) {
      const id = match[1] ?? '';
      const session = isSessionId(id) ? this.#registry.get(id) : undefined;
      if (!session) throw new HttpError(404, 'no_session', `There is no session ${match[1]}.`);
      if (match[2] && method === 'POST') {
        const body = Extend.safeParse(await readJsonBody(req));
        if (!body.success)
          throw new HttpError(
            400,
            'bad_request',
            'The body must be {"minutes": n} with 1 ≤ n ≤ 1440.',
          );
        session.extend(body.data.minutes * 60_000);
        return sendJson(res, 200, {
          id: session.id,
          expiresAt: new Date(session.expiresAt).toISOString(),
        } satisfies ExtendedBody);
      }
      if (!match[2] && method === 'DELETE') {
        await session.end('session_ended');
        res.writeHead(204).end();
        return;
      }
    }
    throw new HttpError(404, 'not_found', `There is no instructor API at ${method} ${path}.`);
  }

  #stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // Headers go out with the first bytes: send some now, or the client waits for them.
    res.write('retry: 3000\n\n');
    // Start with the current sessions, so a new watcher needs no second request.
    for (const session of this.#registry.all()) {
      res.write(eventFrame({ type: 'created', session: sessionSummary(session) }));
    }
    this.#streams.add(res);
    req.on('close', () => this.#streams.delete(res));
  }

  /** `GET /metrics`: open in local mode; behind the admin token when one is set. */
  metrics(req: IncomingMessage, res: ServerResponse, attachments: number): void {
    if (this.#config.adminToken) this.#authorize(req);
    const body = this.#metrics.render({
      sessions: this.#registry.active,
      maxSessions: this.#registry.max,
      attachments,
    });
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(body);
  }

  dispose(): void {
    clearInterval(this.#keepAlive);
    for (const res of this.#streams) res.end();
    this.#streams.clear();
  }
}

function eventFrame(event: AdminEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
