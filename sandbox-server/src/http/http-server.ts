/**
 * The one port: routes each request to its part, answers every failure as a JSON error, and
 * refuses a bad upgrade before anything is allocated.
 *
 *   request ─┬─ OPTIONS /api/*        → CORS preflight (allowed origins)
 *            ├─ /api/admin/*, /metrics → AdminApi (behind the admin token)
 *            ├─ /api/*                → HttpApi (health, sessions)
 *            ├─ /apps/*, POST /api/sessions/:id/apps → AppProxy (readers' apps, isolated;
 *            │                          on --apps-origin only, when set)
 *            ├─ upgrade …/terminal    → TerminalSockets (attach, input, output, flow control)
 *            └─ anything else         → StaticSite (the guide), when a site folder is set
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { AdminApi } from './admin-api.ts';
import type { AppProxy } from './app-proxy.ts';
import { APPS_PREFIX } from './app-route.ts';
import type { HttpApi } from './http-api.ts';
import { HttpError, sendError } from './http-error.ts';
import { corsHeaders, isOriginAllowed, originPolicy } from './origins.ts';
import type { StaticSite } from './static-site.ts';
import { refuse, type TerminalSockets } from './terminal-socket.ts';

export interface Routes {
  api: HttpApi;
  admin: AdminApi;
  sockets: TerminalSockets;
  site: StaticSite | undefined;
  apps: AppProxy;
}

const APP_LINKS_PATH = /^\/api\/sessions\/([A-Za-z0-9_-]{1,64})\/apps$/;

/**
 * The path of a request target, or undefined when it is not a URL at all (`GET http://[`):
 * `new URL` throws on those, and in the upgrade listener that would stop the server.
 */
function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/** Listens on the configured address; resolves with the server and its URL. */
export async function listen(
  config: Config,
  routes: Routes,
  log: Logger,
  metrics: Metrics,
): Promise<{ server: Server; url: string }> {
  const { api, admin, sockets, site, apps } = routes;
  const origins = originPolicy(config);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url);
    if (path === undefined) {
      throw new HttpError(400, 'bad_request', 'The request target is not a valid URL.');
    }
    // The apps' own origin serves them and nothing else; the guide's origin then serves none.
    if (apps.isAppsOrigin(req)) {
      if (path.startsWith(APPS_PREFIX)) return apps.handle(req, res);
      throw new HttpError(404, 'not_found', "This origin serves readers' apps only, under /apps/.");
    }
    if (path.startsWith(APPS_PREFIX)) {
      if (config.apps.origin) {
        throw new HttpError(404, 'not_found', `Apps are opened from ${config.apps.origin}.`);
      }
      return apps.handle(req, res);
    }
    if (path.startsWith('/api/')) {
      if (!isOriginAllowed(req.headers, origins)) {
        throw new HttpError(
          403,
          'origin_not_allowed',
          `Pages from ${req.headers.origin} may not use this sandbox. Allow it with --allowed-origin.`,
        );
      }
      for (const [name, value] of Object.entries(corsHeaders(req.headers))) {
        res.setHeader(name, value);
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(204).end();
        return;
      }
      if (path.startsWith('/api/admin/')) return admin.handle(req, res, path);
      const appLinks = APP_LINKS_PATH.exec(path);
      if (appLinks) {
        if (req.method !== 'POST') {
          throw new HttpError(405, 'method_not_allowed', 'Use POST here.', { allow: 'POST' });
        }
        return apps.link(req, res, api.authorize(req, appLinks[1] ?? ''));
      }
      return api.handle(req, res, path);
    }
    if (path === '/metrics') return admin.metrics(req, res, sockets.connections);
    if (site) return site.handle(req, res, path);
    throw new HttpError(
      404,
      'not_found',
      `Nothing is served at ${path}: this server has no site folder.`,
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The client hung up before its request was read (a cancelled upload, a broken chunked
      // body): nothing to answer, and no fault of the server's.
      if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') {
        res.destroy();
        return;
      }
      if (!(error instanceof HttpError)) {
        log.log('error', 'request_failed', {
          path: req.url,
          message: (error as Error).message,
          stack: (error as Error).stack,
        });
      }
      const answer =
        error instanceof HttpError
          ? error
          : new HttpError(500, 'server_fault', 'The sandbox failed to answer; see its log.');
      metrics.error(answer.code);
      if (res.headersSent) res.destroy();
      else sendError(res, answer);
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const path = pathOf(req.url);
    if (path === undefined) {
      return refuse(socket, 400, 'bad_request', 'The request target is not a valid URL.');
    }
    if (path.startsWith(APPS_PREFIX)) {
      return refuse(
        socket,
        501,
        'upgrade_not_supported',
        "WebSockets do not pass through to readers' apps; use `kubectl port-forward` for an app that needs them.",
      );
    }
    sockets.handleUpgrade(req, socket, head, path);
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `http://${host}:${address.port}` };
}
