/**
 * The sandbox server: HTTP API, terminal sockets and (optionally) the built site on one port.
 * This file only wires the parts together, in the order they need each other: the cluster
 * provider, the API relay and the isolation of workshop shells, the screens, the session
 * registry, then the HTTP parts (routed in http/http-server.ts).
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseProvider } from './choose-provider.ts';
import { ClusterViews } from './cluster-view/cluster-views.ts';
import { type Config, relayedShells, sandboxedShells } from './config/config.ts';
import { AdminApi } from './http/admin-api.ts';
import { AppProxy } from './http/app-proxy.ts';
import { HttpApi } from './http/http-api.ts';
import { listen } from './http/http-server.ts';
import { WRONG_TOKENS_PER_MINUTE } from './http/rate-limit.ts';
import { StaticSite } from './http/static-site.ts';
import { TerminalSockets } from './http/terminal-socket.ts';
import { TokenGuard } from './http/token-guard.ts';
import { ApiRelay } from './isolation/api-relay.ts';
import { Isolation, isolationSettings } from './isolation/isolation.ts';
import { killOrphansOfDeadServers } from './processes/process-tree.ts';
import type { ClusterProvider } from './providers/provider.ts';
import { ScreenHost } from './screen/screen.ts';
import { SessionRegistry, sessionSettings } from './session/session-registry.ts';
import { TaskBook } from './tasks/task-book.ts';
import { TaskChecks } from './tasks/task-checks.ts';
import type { Logger } from './telemetry/log.ts';
import { Metrics } from './telemetry/metrics.ts';

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
  // Read before anything is made: a broken tasks file stops the start at once.
  const tasks = TaskBook.load(config);
  // Without --state-dir, a folder of our own that goes when the server stops: a fixed name
  // (the pid) could be handed to a later server with an earlier one's leftovers in it.
  const stateDir = config.shell.stateDir ?? mkdtempSync(join(tmpdir(), 'kubenotes-'));
  if (config.shell.stateDir === undefined) {
    made.push({ dispose: () => rm(stateDir, { recursive: true, force: true }) });
  }
  const metrics = new Metrics();
  const provider =
    deps.provider ??
    (await chooseProvider(config, stateDir, env, log, (what, ms) => {
      metrics.namespaceSeconds[what].observe(ms / 1000);
    }));
  made.push(provider);
  await clearLeftovers(provider, log);

  const relay = relayedShells(config)
    ? await startRelay(provider, stateDir, log, config.sandbox.apiConnections)
    : undefined;
  if (relay) made.push(relay);
  // Workshop shells run sandboxed; if this host cannot, say so and stop rather than hand
  // strangers a plain shell. (A shell in a pod runs on the cluster: nothing of it runs here.)
  const isolation = sandboxedShells(config)
    ? Isolation.create(isolationSettings(config.sandbox, relay), log, join(stateDir, 'sessions'))
    : undefined;
  const screens = config.screen.enabled ? new ScreenHost(log) : undefined;
  if (screens) made.push(screens);
  const registry = new SessionRegistry({
    max: config.sessions.max,
    metrics,
    ...(isolation ? { isolation } : {}),
    ...(screens ? { screens } : {}),
    stateDir,
    provider,
    log,
    settings: sessionSettings(config, env),
  });

  // Wrong session tokens, counted per client over HTTP and terminal attaches together.
  const sessionTokens = new TokenGuard({
    wrongPerMinute: WRONG_TOKENS_PER_MINUTE,
    trustProxy: config.trustProxy,
  });
  const api = new HttpApi({
    config,
    registry,
    sessionTokens,
    clusterStatus: () => provider.status(),
  });
  const admin = new AdminApi({ config, registry, metrics });
  made.push(admin);
  const checks = new TaskChecks({ book: tasks, log, metrics });
  log.log('info', 'tasks_loaded', { tasks: tasks.count, from: tasks.source });
  // Workshop: one shared watch for every session's namespace; local: each session's own.
  const viewConfig = provider.clusterViewConfig?.();
  const clusterViews = new ClusterViews({
    log,
    shared: viewConfig && {
      config: viewConfig,
      accepts: (namespace) => registry.all().some((s) => s.namespace === namespace),
    },
  });
  made.push(clusterViews);
  // An ended session's namespace leaves the shared feed (its sockets may have closed earlier).
  registry.observe({
    onEnded: () => clusterViews.prune((id) => registry.get(id) !== undefined),
  });
  const sockets = new TerminalSockets({
    config,
    registry,
    log,
    metrics,
    sessionTokens,
    checks,
    clusterViews,
  });
  made.push(sockets);
  // The dock's pane may frame readers' apps on their own origin.
  const site = config.siteDir
    ? new StaticSite(config.siteDir, config.apps.origin ? [config.apps.origin] : [])
    : undefined;
  const apps = new AppProxy({ config, registry, sessionTokens, log });
  const { server, url } = await listen(config, { api, admin, sockets, site, apps }, log, metrics);
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
        admin.dispose();
        sockets.dispose();
        clusterViews.dispose();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await provider.dispose();
        await relay?.dispose();
        await screens?.dispose();
        if (config.shell.stateDir === undefined) {
          await rm(stateDir, { recursive: true, force: true }).catch((error: Error) => {
            log.log('warn', 'state_dir_not_removed', { stateDir, message: error.message });
          });
        }
        log.log('info', 'stopped');
      })();
      return closing;
    },
  };
}

/**
 * Before any session: what an earlier run of this instance left in the cluster goes, and so do
 * the processes the shells of a server that crashed left running on this machine.
 */
async function clearLeftovers(provider: ClusterProvider, log: Logger): Promise<void> {
  const status = await provider.status();
  log.log(status.ready ? 'info' : 'warn', 'cluster_status', { ...status });
  if (provider.reconcile && status.ready) {
    await provider.reconcile(new Set()).catch((error: Error) => {
      log.log('error', 'reconcile_failed', { message: error.message });
    });
  }
  const orphans = killOrphansOfDeadServers();
  if (orphans.length > 0) log.log('warn', 'orphan_processes_killed', { pids: orphans.join(',') });
}

/** Sandboxed shells with a network of their own reach the cluster through this relay. */
async function startRelay(
  provider: ClusterProvider,
  stateDir: string,
  log: Logger,
  perSession: number,
): Promise<ApiRelay> {
  if (!provider.apiServer) {
    throw new Error(
      'Workshop shells with a network of their own (--sandbox-network isolated) need a cluster address to relay to, and the cluster provider has none.',
    );
  }
  return ApiRelay.start(stateDir, provider.apiServer, log, provider.apiProxy, perSession);
}
