/**
 * The sandbox server: HTTP API, terminal sockets and (optionally) the built site on one port.
 * This file only wires the parts together:
 *
 *   request ─┬─ OPTIONS /api/*        → CORS preflight (allowed origins)
 *            ├─ /api/*                → HttpApi (health, sessions)
 *            ├─ upgrade …/terminal    → TerminalSockets (attach, input, output, flow control)
 *            └─ anything else         → StaticSite (the guide), when a site folder is set
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseProvider } from './choose-provider.ts';
import { ClusterViews } from './cluster-view/cluster-views.ts';
import { type Config, relayedShells, sandboxedShells } from './config/config.ts';
import { AdminApi, sessionSummary } from './http/admin-api.ts';
import { HttpApi } from './http/http-api.ts';
import { HttpError, sendError } from './http/http-error.ts';
import { corsHeaders, isOriginAllowed } from './http/origins.ts';
import { RateLimiter, WRONG_TOKENS_PER_MINUTE } from './http/rate-limit.ts';
import { StaticSite } from './http/static-site.ts';
import { refuse, TerminalSockets } from './http/terminal-socket.ts';
import { ApiRelay } from './isolation/api-relay.ts';
import { Isolation } from './isolation/isolation.ts';
import { killOrphansOfDeadServers } from './processes/process-tree.ts';
import type { ClusterProvider, ClusterStatus } from './providers/provider.ts';
import { ScreenHost } from './screen/screen.ts';
import { SessionRegistry } from './session/session-registry.ts';
import type { Logger } from './telemetry/log.ts';
import { Metrics } from './telemetry/metrics.ts';

/**
 * The path of a request target, or undefined when it is not a URL at all (`GET http://[`).
 * `new URL` throws on those: in the upgrade listener that was an uncaught exception, and one
 * such request from anyone stopped the server and every session (reliability suite, fuzz-http
 * scenario); in a plain request it was a 500.
 */
function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

export interface SandboxServer {
  readonly url: string;
  readonly registry: SessionRegistry;
  readonly provider: ClusterProvider;
  /** the cluster view's feeds and subscribers */
  readonly clusterViews: ClusterViews;
  /** Ends every session (telling its terminals), then stops listening. Idempotent. */
  close(): Promise<void>;
}

export interface ServerDeps {
  log: Logger;
  /** the server's environment, read for PATH and pass-through variables only */
  env?: NodeJS.ProcessEnv;
  /** use this provider instead of choosing one from the settings (tests) */
  provider?: ClusterProvider;
}

/** What start-up has made that holds something (a socket, a watch, a worker). */
interface Resource {
  dispose(): unknown;
}

export async function startSandboxServer(config: Config, deps: ServerDeps): Promise<SandboxServer> {
  // A later step can fail (the port is taken, the host cannot sandbox): what the earlier ones
  // made is disposed, newest first, so a failed start leaves no listening relay socket or
  // provider watch behind in a process that goes on (the tests, a supervisor that retries).
  const made: Resource[] = [];
  try {
    return await start(config, deps, made);
  } catch (error) {
    for (const resource of made.reverse()) {
      await Promise.resolve()
        .then(() => resource.dispose())
        .catch((disposeError: Error) => {
          deps.log.log('error', 'startup_cleanup_failed', { message: disposeError.message });
        });
    }
    throw error;
  }
}

async function start(config: Config, deps: ServerDeps, made: Resource[]): Promise<SandboxServer> {
  const { log } = deps;
  const env = deps.env ?? process.env;
  const stateDir = config.shell.stateDir ?? join(tmpdir(), `kubenotes-${process.pid}`);
  const metrics = new Metrics();
  const provider =
    deps.provider ??
    (await chooseProvider(config, stateDir, env, log, (what, ms) => {
      metrics.namespaceSeconds[what].observe(ms / 1000);
    }));
  made.push(provider);
  let clusterStatus: ClusterStatus = await provider.status();
  log.log(clusterStatus.ready ? 'info' : 'warn', 'cluster_status', { ...clusterStatus });
  // Nothing is live yet: whatever an earlier run of this instance left in the cluster goes.
  if (provider.reconcile && clusterStatus.ready) {
    await provider.reconcile(new Set()).catch((error: Error) => {
      log.log('error', 'reconcile_failed', { message: error.message });
    });
  }
  // Likewise on this machine: what the shells of a server that crashed left running.
  const orphans = killOrphansOfDeadServers();
  if (orphans.length > 0) log.log('warn', 'orphan_processes_killed', { pids: orphans.join(',') });

  // Sandboxed shells with a network of their own reach the cluster through this relay.
  let relay: ApiRelay | undefined;
  if (relayedShells(config)) {
    if (!provider.apiServer) {
      throw new Error(
        'Workshop shells with a network of their own (--sandbox-network isolated) need a cluster address to relay to, and the cluster provider has none.',
      );
    }
    relay = await ApiRelay.start(stateDir, provider.apiServer, log, provider.apiProxy);
    made.push(relay);
  }
  // Workshop shells run sandboxed; if this host cannot, say so and stop rather than hand
  // strangers a plain shell.
  const isolation =
    // (a shell in a pod runs on the cluster: nothing of the participant's runs here)
    sandboxedShells(config)
      ? Isolation.create(
          {
            uidFirst: config.sandbox.uidFirst,
            uidLast: config.sandbox.uidLast,
            pids: config.sandbox.pids,
            memoryBytes: config.sandbox.memory,
            cpuPercent: config.sandbox.cpuPercent,
            tmpSizeBytes: config.sandbox.tmpSize,
            homeSizeBytes: config.sandbox.homeSize,
            apiRelaySocket: relay?.socket,
            cgroupParent: config.sandbox.cgroupParent,
            readOnlyPaths: config.sandbox.readOnlyPaths,
          },
          log,
          join(stateDir, 'sessions'),
        )
      : undefined;
  const screens = config.screen.enabled ? new ScreenHost(log) : undefined;
  if (screens) made.push(screens);
  // The admin API is made after the registry, whose events it streams.
  let admin: AdminApi | undefined;
  const registry = new SessionRegistry({
    max: config.sessions.max,
    metrics,
    ...(isolation ? { isolation } : {}),
    ...(screens ? { screens } : {}),
    events: {
      onCreated: (session) => admin?.publish({ type: 'created', session: sessionSummary(session) }),
      onEnded: (session, reason) => admin?.publish({ type: 'ended', id: session.id, reason }),
      onProgress: (session) =>
        admin?.publish({ type: 'progress', session: sessionSummary(session) }),
      onAttachChange: (session) =>
        admin?.publish({ type: 'attached', session: sessionSummary(session) }),
    },
    stateDir,
    provider,
    log,
    settings: {
      idleTimeoutMs: config.sessions.idleTimeout,
      lifetimeMs: config.sessions.lifetime ?? 4 * 3_600_000,
      graceMs: config.sessions.grace,
      expiringWarningMs: config.sessions.expiringWarning,
      highWaterBytes: config.flow.highWaterBytes,
      lowWaterBytes: config.flow.lowWaterBytes,
      tooSlowMs: config.flow.tooSlow,
      screen: config.screen,
      shell: {
        command: config.shell.command,
        path: config.shell.path ?? env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        passEnv: config.shell.passEnv,
        serverEnv: env,
      },
    },
  });
  // Wrong session tokens, counted per client over HTTP and terminal attaches together.
  const wrongTokens = new RateLimiter(WRONG_TOKENS_PER_MINUTE);
  const api = new HttpApi({
    config,
    registry,
    wrongTokens,
    clusterStatus: async () => {
      clusterStatus = await provider.status();
      return clusterStatus;
    },
  });
  admin = new AdminApi({ config, registry, metrics });
  // Workshop: one shared watch for every session's namespace; local: each session's own.
  const viewConfig = provider.clusterViewConfig?.();
  const clusterViews = new ClusterViews({
    log,
    shared: viewConfig && {
      config: viewConfig,
      accepts: (namespace) => registry.all().some((s) => s.namespace === namespace),
    },
  });
  const sockets = new TerminalSockets({
    config,
    registry,
    log,
    metrics,
    wrongTokens,
    clusterViews,
  });
  const site = config.siteDir ? new StaticSite(config.siteDir) : undefined;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The client hung up before its request was read (a cancelled upload, a broken chunked
      // body): nothing to answer, and no fault of the server's, which logged it as one
      // (reliability suite, fuzz-http scenario).
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

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url);
    if (path === undefined) {
      throw new HttpError(400, 'bad_request', 'The request target is not a valid URL.');
    }
    if (path.startsWith('/api/')) {
      if (!isOriginAllowed(req.headers, config.allowedOrigins)) {
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
      if (path.startsWith('/api/admin/')) return admin?.handle(req, res, path);
      return api.handle(req, res, path);
    }
    if (path === '/metrics') return admin?.metrics(req, res, sockets.connections);
    if (site) return site.handle(req, res, path);
    throw new HttpError(
      404,
      'not_found',
      `Nothing is served at ${path}: this server has no site folder.`,
    );
  }

  server.on('upgrade', (req, socket, head) => {
    const path = pathOf(req.url);
    if (path === undefined) {
      return refuse(socket, 400, 'bad_request', 'The request target is not a valid URL.');
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
  const url = `http://${host}:${address.port}`;
  log.log('info', 'listening', { url, mode: config.mode, provider: provider.name });

  let closing: Promise<void> | undefined;
  return {
    url,
    registry,
    provider,
    clusterViews,
    close() {
      closing ??= (async () => {
        await registry.endAll('server_shutdown');
        admin?.dispose();
        sockets.dispose();
        clusterViews.dispose();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await provider.dispose();
        await relay?.dispose();
        await screens?.dispose();
        log.log('info', 'stopped');
      })();
      return closing;
    },
  };
}
