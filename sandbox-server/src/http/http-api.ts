/**
 * The HTTP half of docs/protocol.md: health and sessions. Every answer is JSON; every error is
 * `{"error":{"code","message"}}` with a code that never changes and a message a person can
 * act on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/config.ts';
import { RateLimiter } from '../limits/rate-limiter.ts';
import type { ClusterStatus } from '../providers/provider.ts';
import type { Session } from '../session/session.ts';
import {
  CapacityError,
  LeaseError,
  OutOfFilesError,
  SandboxError,
  type SessionRegistry,
  TerminalsFullError,
} from '../session/session-registry.ts';
import {
  CreateSessionRequest,
  type HealthBody,
  isSessionId,
  PROTOCOL_VERSION,
  type SessionCreatedBody,
  type SessionInfoBody,
} from '../shared/protocol.ts';
import { HttpError, readJsonBody, sendJson } from './http-error.ts';
import { type JoinCode, JoinCodes } from './join-codes.ts';
import { clientAddress } from './rate-limit.ts';
import type { TokenGuard } from './token-guard.ts';

export interface ApiContext {
  config: Config;
  registry: SessionRegistry;
  clusterStatus(): Promise<ClusterStatus>;
  /** session tokens, checked here and by the terminal sockets against one budget */
  sessionTokens: TokenGuard;
}

/** `/api/sessions/<id>`: any segment, so that one that is no session id gets `no_session`. */
const SESSION_PATH = /^\/api\/sessions\/([^/]+)$/;

export class HttpApi {
  readonly #ctx: ApiContext;
  readonly #createLimit: RateLimiter;
  readonly #joinCodes: JoinCodes;

  constructor(ctx: ApiContext) {
    this.#ctx = ctx;
    this.#joinCodes = new JoinCodes(ctx.config.joinCodes);
    this.#createLimit = new RateLimiter(ctx.config.sessions.perClientPerMinute);
  }

  /** Answers an /api request; throws HttpError for the caller to send. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (path === '/api/health') {
      allow(method, ['GET', 'HEAD']);
      return sendJson(res, 200, await this.health());
    }
    if (path === '/api/sessions') {
      allow(method, ['POST']);
      return this.#create(req, res);
    }
    const match = SESSION_PATH.exec(path);
    if (match) {
      const id = match[1] ?? '';
      // What is no session id is no resource, whatever the method: 404 before 405.
      if (!isSessionId(id)) {
        throw new HttpError(404, 'no_session', `There is no session ${id}; it may have ended.`);
      }
      allow(method, ['GET', 'DELETE']);
      const session = this.authorize(req, id);
      if (method === 'DELETE') {
        await session.end('session_ended');
        res.writeHead(204).end();
        return;
      }
      return sendJson(res, 200, sessionInfo(session) satisfies SessionInfoBody);
    }
    throw new HttpError(404, 'not_found', `There is no API at ${path}.`);
  }

  async health(): Promise<HealthBody> {
    const { config, registry } = this.#ctx;
    const cluster = await this.#ctx.clusterStatus();
    return {
      status: 'ok',
      protocol: PROTOCOL_VERSION,
      mode: config.mode,
      cluster,
      sessions: { active: registry.active, max: registry.max },
      joinCodeRequired: config.joinCodes.length > 0,
    };
  }

  async #create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { config, registry } = this.#ctx;
    const client = clientAddress(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      config.trustProxy,
    );
    const body = CreateSessionRequest.safeParse(await readJsonBody(req));
    if (!body.success) {
      throw new HttpError(
        400,
        'bad_request',
        'The body must be {"joinCode"?: string, "with"?: {"id": string, "token": string}}.',
      );
    }
    // With join codes, only wrong codes spend the address's budget: a room behind one NAT
    // joining with the right code is never throttled. Once a wrong-code budget is spent, every
    // attempt from that address waits (right codes too), so the answers never tell a guesser
    // which code was right. Without join codes, every new session counts.
    const limited = (budget: { ok: true } | { ok: false; retryAfterSeconds: number }) => {
      if (budget.ok) return;
      throw new HttpError(
        429,
        'rate_limited',
        this.#joinCodes.required
          ? `Too many wrong join codes from your address; try again in ${budget.retryAfterSeconds} s.`
          : `Too many new sessions from your address; try again in ${budget.retryAfterSeconds} s.`,
        { 'retry-after': String(budget.retryAfterSeconds) },
      );
    };
    // Another terminal of a participant: the token of their session is their admission (no
    // join code, no seat of its own), and it lands in that session's namespace.
    const joining = body.data.with ? this.#companion(req, body.data.with) : undefined;
    let code: JoinCode | undefined;
    if (joining) {
      // admitted already
    } else if (this.#joinCodes.required) {
      limited(this.#createLimit.spent(client));
      const given = body.data.joinCode ?? '';
      code = this.#joinCodes.match(given);
      if (!code) {
        limited(this.#createLimit.take(client));
        throw new HttpError(
          401,
          'wrong_join_code',
          given
            ? 'That join code is not right. Check it with your instructor.'
            : 'This sandbox needs a join code: ask your instructor for it.',
        );
      }
      // A seat is a participant's, held while any of their terminals lives.
      if (this.#joinCodes.seatsLeft(code, (id) => registry.terminalsOf(id).length > 0) <= 0) {
        throw new HttpError(
          403,
          'join_code_full',
          `Every seat of this join code is taken (${code.seats}). Ask your instructor for another code, or wait until someone leaves.`,
        );
      }
    } else {
      limited(this.#createLimit.take(client));
    }
    const seat = code ? this.#joinCodes.reserve(code) : undefined;
    let session: Session;
    try {
      session = await registry.create(joining);
    } catch (error) {
      seat?.cancel();
      if (error instanceof TerminalsFullError) {
        throw new HttpError(
          409,
          'terminals_full',
          `You have ${error.message} terminals already, as many as one participant may have. Close one (New session in its tab ends it) or use it.`,
        );
      }
      if (error instanceof CapacityError) {
        throw new HttpError(
          503,
          'server_full',
          `The sandbox is full (${registry.max} sessions). Try again in a minute, or ask the instructor to raise --max-sessions.`,
          { 'retry-after': '60' },
        );
      }
      if (error instanceof OutOfFilesError) {
        throw new HttpError(
          503,
          'out_of_files',
          'The sandbox server has run out of open files and cannot start a session now. Try again in a minute; if it persists, tell the instructor (the server log says more).',
          { 'retry-after': '30' },
        );
      }
      if (error instanceof LeaseError) {
        throw new HttpError(
          503,
          'cluster_unavailable',
          `The sandbox's cluster could not make your session: ${error.message}. Try again in a minute; if it persists, tell the instructor.`,
          { 'retry-after': '30' },
        );
      }
      if (error instanceof SandboxError) {
        throw new HttpError(
          503,
          'sandbox_unavailable',
          'The sandbox could not set up your shell. Try again in a minute; if it persists, tell the instructor (the server log says why).',
          { 'retry-after': '30' },
        );
      }
      throw error;
    }
    seat?.confirm(session.id);
    sendJson(res, 201, {
      id: session.id,
      token: session.token,
      namespace: session.namespace,
      expiresAt: new Date(session.expiresAt).toISOString(),
    } satisfies SessionCreatedBody);
  }

  /** The session a second terminal joins: its token must be right (counted like any). */
  #companion(req: IncomingMessage, given: { id: string; token: string }): Session {
    const session = isSessionId(given.id) ? this.#ctx.registry.get(given.id) : undefined;
    if (!session) {
      throw new HttpError(
        404,
        'no_session',
        `There is no session ${given.id} to open another terminal with; it may have ended.`,
      );
    }
    const result = this.#ctx.sessionTokens.check(this.#ctx.sessionTokens.client(req), given.token, [
      session.token,
    ]);
    if (result.ok) return session;
    if (result.code === 'rate_limited') {
      throw new HttpError(
        429,
        'rate_limited',
        `Too many wrong session tokens from your address; try again in ${result.retryAfterSeconds} s.`,
        { 'retry-after': String(result.retryAfterSeconds) },
      );
    }
    throw new HttpError(
      401,
      'bad_token',
      'The token given with "with" is not that session\'s: open the other terminal from the page that holds the first.',
    );
  }

  /** The session named in the path, if the bearer token is its own: 404 first, then 401. */
  authorize(req: IncomingMessage, id: string): Session {
    const session = isSessionId(id) ? this.#ctx.registry.get(id) : undefined;
    if (!session) {
      throw new HttpError(404, 'no_session', `There is no session ${id}; it may have ended.`);
    }
    this.#ctx.sessionTokens.authorize(req, session.token, 'session');
    return session;
  }
}

function sessionInfo(session: Session): SessionInfoBody {
  return {
    id: session.id,
    namespace: session.namespace,
    expiresAt: new Date(session.expiresAt).toISOString(),
    attached: session.attached,
  };
}

function allow(method: string, methods: string[]): void {
  if (!methods.includes(method)) {
    throw new HttpError(405, 'method_not_allowed', `Use ${methods.join(' or ')} here.`, {
      allow: methods.join(', '),
    });
  }
}
