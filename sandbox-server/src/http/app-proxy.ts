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
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/config.ts';
import type { Session } from '../session/session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import { type AppTarget, formatAppTarget, parseAppTarget } from '../shared/app-target.ts';
import { AppLinkRequest } from '../shared/protocol.ts';
import type { Logger } from '../telemetry/log.ts';
import { APP_LINK_SECONDS, AppCapabilities } from './app-capability.ts';
import {
  forwardedRequestHeaders,
  ISOLATION_HEADERS,
  passedResponseHeaders,
  sendAppError,
} from './app-response.ts';
import { APPS_PREFIX, type AppRoute, parseAppRoute, proxyPath } from './app-route.ts';
import { HttpError, readJsonBody, sendJson } from './http-error.ts';
import { RateLimiter } from './rate-limit.ts';
import { bearer, type TokenGuard } from './token-guard.ts';

/** Requests one session may make to its apps per minute (a page and its images, many times). */
export const APP_REQUESTS_PER_MINUTE = 300;
/** Requests of one session to its apps at once. */
export const APP_REQUESTS_AT_ONCE = 6;
/** The largest response passed on; HTML is read whole (to rewrite its links) up to this. */
export const APP_MAX_BYTES = 16 * 1024 * 1024;
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
      if (apiStatus) throw await this.#explain(apiStatus, route.target, session, access);
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

  /** The API server's refusal, in words a reader can act on. */
  async #explain(
    status: ApiStatus,
    target: AppTarget,
    session: Session,
    access: KubeConfig,
  ): Promise<HttpError> {
    const what = targetWords(target);
    const message = status.message ?? '';
    const plural = target.kind === 'svc' ? 'services' : 'pods';
    if (status.code === 404) {
      return new HttpError(
        404,
        'app_not_found',
        `There is no ${target.kind === 'svc' ? 'Service' : 'Pod'} ${target.name} in your namespace ${session.namespace}. Check the name with \`kubectl get ${plural}\`.`,
      );
    }
    if (/no endpoints available/i.test(message)) {
      return new HttpError(
        503,
        'app_not_ready',
        `${what} has no ready Pod behind it: its selector matches no Pod, or they are not Ready yet. Look with \`kubectl get endpoints ${target.name}\` and \`kubectl get pods\`.`,
      );
    }
    if (/no service port/i.test(message)) {
      return new HttpError(
        502,
        'app_wrong_port',
        `${what} has no port ${target.port}. See its ports with \`kubectl get service ${target.name}\`.`,
      );
    }
    if (/address not allowed/i.test(message) && target.kind === 'pod') {
      const phase = await podPhase(access, session.namespace, target.name);
      return new HttpError(
        503,
        'app_not_ready',
        `${what} is not running${phase ? ` (it is ${phase})` : ''}, so there is nothing to open yet. Watch it with \`kubectl get pod ${target.name} -w\`.`,
      );
    }
    if (/connection refused/i.test(message)) {
      return new HttpError(
        502,
        'app_wrong_port',
        `Nothing answers on port ${target.port} of ${what}: the app listens on another port, or has not started. Check the container's port in \`kubectl describe ${target.kind === 'svc' ? 'service' : 'pod'} ${target.name}\`.`,
      );
    }
    if (/timeout|deadline exceeded/i.test(message)) {
      return new HttpError(
        504,
        'app_timeout',
        `${what} did not answer in time (the API server said: ${message}).`,
      );
    }
    return new HttpError(
      status.code === 401 || status.code === 403 ? 403 : 502,
      'app_refused',
      `The Kubernetes API server refused to open ${what}: ${message || status.reason || `status ${status.code}`}`,
    );
  }
}

interface ApiStatus {
  code?: number;
  reason?: string;
  message?: string;
}

function asApiStatus(body: Buffer): ApiStatus | undefined {
  try {
    const value = JSON.parse(body.toString('utf8'));
    if (value?.kind === 'Status' && value?.apiVersion === 'v1') return value;
  } catch {
    // not JSON after all
  }
  return undefined;
}

function targetWords(target: AppTarget): string {
  return `${target.kind === 'svc' ? 'The Service' : 'The Pod'} ${target.name}`;
}

function tooLarge(target: AppTarget): HttpError {
  return new HttpError(
    502,
    'app_too_large',
    `${targetWords(target)} answered with more than ${APP_MAX_BYTES / 1024 / 1024} MiB; the sandbox passes on less. Use \`kubectl port-forward\` for large downloads.`,
  );
}

function fail(error: HttpError): never {
  throw error;
}

class TimeoutError extends Error {}
class TooLarge extends Error {}

/**
 * One request to the API server with these credentials; resolves with the response once its
 * headers came (within `timeoutMs`). Abandoned when the reader's response closes first.
 */
async function apiRequest(
  access: KubeConfig,
  method: string,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
  res?: ServerResponse,
): Promise<IncomingMessage> {
  const cluster = access.getCurrentCluster();
  if (!cluster) throw new Error('no cluster in the credentials');
  const server = new URL(cluster.server);
  const options: https.RequestOptions = {
    method,
    hostname: server.hostname.replace(/^\[|\]$/g, ''),
    port: server.port || (server.protocol === 'http:' ? 80 : 443),
    path: `${server.pathname.replace(/\/$/, '')}${path}`,
    headers: { ...headers },
  };
  await access.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const request = (server.protocol === 'http:' ? http : https).request(options, (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    const timer = setTimeout(() => request.destroy(new TimeoutError('timeout')), timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    res?.on('close', () => request.destroy());
    request.end();
  });
}

async function podPhase(access: KubeConfig, namespace: string, name: string): Promise<string> {
  try {
    const response = await apiRequest(
      access,
      'GET',
      `/api/v1/namespaces/${namespace}/pods/${name}`,
      { accept: 'application/json' },
      5000,
    );
    const pod = JSON.parse((await readAll(response, 1024 * 1024)).toString('utf8'));
    return typeof pod?.status?.phase === 'string' ? pod.status.phase : '';
  } catch {
    return '';
  }
}

async function readAll(from: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of from) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      from.destroy();
      throw new TooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Streams the app's body to the reader; cuts it off past `limit` bytes. */
function stream(from: IncomingMessage, to: ServerResponse, limit: number): Promise<void> {
  return new Promise((resolve) => {
    let size = 0;
    from.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        from.destroy();
        to.destroy();
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
    from.on('close', () => {
      if (!from.readableEnded) to.destroy();
    });
    to.on('close', () => {
      from.destroy();
      resolve();
    });
  });
}

function send(
  res: ServerResponse,
  status: number,
  headers: http.OutgoingHttpHeaders,
  body: Buffer,
  req: IncomingMessage,
): void {
  // A HEAD's answer has no body, but says how long the GET's would be when the app did.
  res.writeHead(
    status,
    req.method === 'HEAD' ? headers : { ...headers, 'content-length': body.length },
  );
  res.end(req.method === 'HEAD' ? undefined : body);
}
