/**
 * The app route: what the reader deployed, opened in the browser through the Kubernetes API
 * server's proxy subresources (`services/NAME:PORT/proxy`, `pods/NAME:PORT/proxy`), in the
 * session's namespace and with the session's own credentials (ClusterLease.apiAccess), so
 * RBAC keeps a participant to their namespace and nothing new leaves their sandbox.
 *
 *   POST /api/sessions/:id/apps {target}   → a link (app-capability.ts) for the pane or a tab
 *   GET  /apps/:id/[link/]svc|pod/NAME:PORT/PATH → the app, with the isolation headers
 *
 * Reading only (GET and HEAD: the participant's Role grants `get` on the proxy subresources
 * and nothing more); no WebSockets. Bounded: a response's size and time, requests per session
 * per minute and at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/config.ts';
import { RateLimiter } from '../limits/rate-limiter.ts';
import type { Session } from '../session/session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import { formatAppTarget, parseAppTarget } from '../shared/app-target.ts';
import { AppLinkRequest } from '../shared/protocol.ts';
import type { Logger } from '../telemetry/log.ts';
import { APP_LINK_SECONDS, AppCapabilities } from './app-capability.ts';
import { asApiStatus, explainRefusal, targetWords, tooLarge } from './app-errors.ts';
import {
  forwardedRequestHeaders,
  ISOLATION_HEADERS,
  passedResponseHeaders,
  sendAppError,
} from './app-response.ts';
import { APPS_PREFIX, type AppRoute, parseAppRoute, proxyPath } from './app-route.ts';
import {
  APP_MAX_BYTES,
  apiRequest,
  readAll,
  send,
  stream,
  TimeoutError,
  TooLarge,
} from './app-upstream.ts';
import { HttpError, readJsonBody, sendJson } from './http-error.ts';
import { bearer, type TokenGuard } from './token-guard.ts';

/** Requests one session may make to its apps per minute (a page and its images, many times). */
export const APP_REQUESTS_PER_MINUTE = 300;
/** Requests of one session to its apps at once. */
export const APP_REQUESTS_AT_ONCE = 6;
/** How long a response's body may take once its headers came. */
const APP_BODY_MS = 60_000;
const STATUS_MAX_BYTES = 64 * 1024;

/** An unknown session, or one that is not the caller's: the same answer, so it says nothing. */
const nothingHere = () => new HttpError(404, 'not_found', 'There is nothing here.');

export interface AppProxyContext {
  config: Config;
  registry: SessionRegistry;
  /** wrong session tokens per client, shared with the API and the terminal sockets */
  sessionTokens: TokenGuard;
  log: Logger;
}

export class AppProxy {
  readonly #ctx: AppProxyContext;
  readonly #links = new AppCapabilities();
  readonly #perSession = new RateLimiter(APP_REQUESTS_PER_MINUTE);
  readonly #inFlight = new Map<string, number>();
  readonly #appsHost: string | undefined;

  constructor(ctx: AppProxyContext) {
    this.#ctx = ctx;
    this.#appsHost = ctx.config.apps.origin ? new URL(ctx.config.apps.origin).host : undefined;
  }

  /** Whether the request came to the apps' own origin (`--apps-origin`), by its Host. */
  isAppsOrigin(req: IncomingMessage): boolean {
    return this.#appsHost !== undefined && req.headers.host?.toLowerCase() === this.#appsHost;
  }

  /** `POST /api/sessions/:id/apps` for an authorized session: a link to one of its apps. */
  async link(req: IncomingMessage, res: ServerResponse, session: Session): Promise<void> {
    const body = AppLinkRequest.safeParse(await readJsonBody(req));
    if (!body.success) {
      throw new HttpError(400, 'bad_request', 'The body must be {"target": "svc/NAME:PORT"}.');
    }
    const target = parseAppTarget(body.data.target);
    if (!target.ok) throw new HttpError(400, 'bad_request', `${target.error}.`);
    const { capability, expiresAt } = this.#links.mint(session.id, target.target);
    const path = `${APPS_PREFIX}${session.id}/${capability}/${formatAppTarget(target.target)}/`;
    sendJson(res, 201, {
      url: `${this.#ctx.config.apps.origin ?? ''}${path}`,
      expiresAt: new Date(expiresAt).toISOString(),
    });
  }

  /** Answers a request on the app route; every answer, errors too, carries the isolation headers. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.#handle(req, res);
    } catch (error) {
      const answer =
        error instanceof HttpError
          ? error
          : new HttpError(500, 'server_fault', 'The sandbox failed to open the app; see its log.');
      // The URL is not logged: it may hold a link's capability.
      if (!(error instanceof HttpError)) {
        this.#ctx.log.log('error', 'app_proxy_failed', { message: (error as Error).message });
      }
      if (res.headersSent) res.destroy();
      else sendAppError(req, res, answer);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = parseAppRoute(req.url ?? '');
    if (!parsed.ok) throw new HttpError(400, 'bad_request', parsed.error);
    const route = parsed.route;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new HttpError(
        405,
        'method_not_allowed',
        'Apps open here for reading only (GET and HEAD). To send forms or other requests to your app, use `kubectl port-forward` in the terminal.',
        { allow: 'GET, HEAD' },
      );
    }
    const session = this.#authorize(req, route);
    if (route.needsSlash) {
      // The app's relative links resolve below the target only with the slash.
      res.writeHead(308, {
        location: `${route.base}/${route.query ? `?${route.query}` : ''}`,
        ...ISOLATION_HEADERS,
      });
      res.end();
      return;
    }
    const budget = this.#perSession.take(session.id);
    if (!budget.ok) {
      throw new HttpError(
        429,
        'rate_limited',
        `Your apps were asked for too much at once; try again in ${budget.retryAfterSeconds} s.`,
        { 'retry-after': String(budget.retryAfterSeconds) },
      );
    }
    const inFlight = this.#inFlight.get(session.id) ?? 0;
    if (inFlight >= APP_REQUESTS_AT_ONCE) {
      throw new HttpError(
        429,
        'rate_limited',
        'Too many requests to your apps at once; try again.',
        {
          'retry-after': '1',
        },
      );
    }
    const access = session.apiAccess;
    if (!access?.getCurrentCluster()) {
      throw new HttpError(
        503,
        'cluster_unavailable',
        'This sandbox has no Kubernetes cluster connected, so there is no app to open.',
      );
    }
    this.#inFlight.set(session.id, inFlight + 1);
    try {
      await this.#proxy(req, res, session, route, access);
    } finally {
      const left = (this.#inFlight.get(session.id) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(session.id, left);
      else this.#inFlight.delete(session.id);
    }
  }

  /** The link's or the bearer token's session, if it is the one in the path: 401, else 404. */
  #authorize(req: IncomingMessage, route: AppRoute): Session {
    if (route.capability !== undefined) {
      const check = this.#links.check(route.capability, route.sessionId, route.target);
      if (check === 'invalid') {
        this.#checkToken(req, undefined, []);
        throw new HttpError(
          401,
          'bad_token',
          'This app link is not valid here: open the app again from the guide.',
        );
      }
      if (check === 'expired') {
        throw new HttpError(
          401,
          'link_expired',
          `This app link has expired (links last ${APP_LINK_SECONDS / 60} minutes): press Open again in the guide.`,
        );
      }
      return this.#ctx.registry.get(route.sessionId) ?? fail(nothingHere());
    }
    // Found by the token, not by the id in the path, so a 401 says nothing about that id.
    const sessions = this.#ctx.registry.all();
    const owner = this.#checkToken(
      req,
      bearer(req.headers.authorization),
      sessions.map((session) => session.token),
    );
    const session = sessions[owner];
    if (session?.id !== route.sessionId) throw nothingHere();
    return session;
  }

  /** Which of `expected` the token is; else 401 (or 429 past the client's wrong guesses). */
  #checkToken(req: IncomingMessage, given: string | undefined, expected: string[]): number {
    const guard = this.#ctx.sessionTokens;
    const result = guard.check(guard.client(req), given, expected);
    if (result.ok) return result.matched;
    if (result.code === 'rate_limited') {
      throw new HttpError(
        429,
        'rate_limited',
        `Too many wrong session tokens or links from your address; try again in ${result.retryAfterSeconds} s.`,
        { 'retry-after': String(result.retryAfterSeconds) },
      );
    }
    throw new HttpError(
      401,
      'bad_token',
      given === undefined && expected.length === 0
        ? 'This app link is not valid here: open the app again from the guide.'
        : 'The session token is missing or wrong: send it as "Authorization: Bearer <token>", or open the app through a link (POST /api/sessions/:id/apps).',
    );
  }

  async #proxy(
    req: IncomingMessage,
    res: ServerResponse,
    session: Session,
    route: AppRoute,
    access: KubeConfig,
  ): Promise<void> {
    const prefix = proxyPath(session.namespace, route.target);
    const timeoutMs = this.#ctx.config.apps.timeout;
    const upstream = await apiRequest(
      access,
      req.method ?? 'GET',
      `${prefix}/${route.path}${route.query ? `?${route.query}` : ''}`,
      forwardedRequestHeaders(req.headers),
      timeoutMs,
      res,
    ).catch((error: Error) => {
      if (error instanceof TimeoutError) {
        throw new HttpError(
          504,
          'app_timeout',
          `${targetWords(route.target)} took more than ${Math.round(timeoutMs / 1000)} s to answer. It may still be starting: try again, or look at \`kubectl logs\`.`,
        );
      }
      throw new HttpError(
        503,
        'cluster_unavailable',
        `The sandbox could not reach the Kubernetes API server (${error.message}). Try again in a minute; if it persists, tell the instructor.`,
      );
    });

    const status = upstream.statusCode ?? 502;
    const type = String(upstream.headers['content-type'] ?? '');
    if (status >= 400 && /^application\/json/i.test(type)) {
      const body = await readAll(upstream, STATUS_MAX_BYTES);
      const apiStatus = asApiStatus(body);
      if (apiStatus) throw await explainRefusal(apiStatus, route.target, session.namespace, access);
      // The app's own JSON error: passed on as it came.
      return send(
        res,
        status,
        passedResponseHeaders(upstream.headers, (l) => l),
        body,
        req,
      );
    }
    const length = Number(upstream.headers['content-length'] ?? 0);
    if (length > APP_MAX_BYTES) {
      upstream.destroy();
      throw tooLarge(route.target);
    }
    const rewriteLocation = (location: string) =>
      location.startsWith(prefix) ? `${route.base}${location.slice(prefix.length)}` : location;
    const headers = passedResponseHeaders(upstream.headers, rewriteLocation);
    const bodyTimer = setTimeout(() => upstream.destroy(), APP_BODY_MS);
    try {
      if (/^text\/html/i.test(type) && !upstream.headers['content-encoding']) {
        // The API server rewrote the page's absolute links to its own proxy path; those are
        // turned into this route's, so they open through it too.
        const page = await readAll(upstream, APP_MAX_BYTES).catch((error: Error) => {
          throw error instanceof TooLarge ? tooLarge(route.target) : error;
        });
        const rewritten = Buffer.from(
          page.toString('latin1').replaceAll(`${prefix}/`, `${route.base}/`),
          'latin1',
        );
        delete headers['content-length'];
        return send(res, status, headers, rewritten, req);
      }
      res.writeHead(status, headers);
      await stream(upstream, res, APP_MAX_BYTES);
    } finally {
      clearTimeout(bodyTimer);
    }
  }
}

function fail(error: HttpError): never {
  throw error;
}
