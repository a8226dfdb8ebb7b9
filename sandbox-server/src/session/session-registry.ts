/**
 * The live sessions: creates them within the configured capacity, finds them by id, and
 * ends them all on shutdown. Nothing else holds a session.
 */
import { join } from 'node:path';
import type { Config } from '../config/config.ts';
import type { Isolation, SessionSandbox } from '../isolation/isolation.ts';
import { UidsExhaustedError } from '../isolation/uid-pool.ts';
import type { ClusterProvider } from '../providers/provider.ts';
import type { ScreenHost } from '../screen/screen.ts';
import type { ProgressMessage, TaskMessage } from '../shared/protocol.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { type EndReason, Session, type SessionSettings } from './session.ts';
import { removeHome } from './shell.ts';
import { createSessionId, createToken } from './tokens.ts';

export interface RegistryEvents {
  onCreated?(session: Session): void;
  onEnded?(session: Session, reason: EndReason): void;
  onProgress?(session: Session, progress: ProgressMessage): void;
  onAttachChange?(session: Session): void;
  /** a task was checked (undefined: a chapter's tasks were forgotten) */
  onTask?(session: Session, result: TaskMessage | undefined): void;
}

/** What every session is made with, from the settings and the server's environment. */
export function sessionSettings(config: Config, serverEnv: NodeJS.ProcessEnv): SessionSettings {
  return {
    idleTimeoutMs: config.sessions.idleTimeout,
    lifetimeMs: config.sessions.lifetime,
    graceMs: config.sessions.grace,
    expiringWarningMs: config.sessions.expiringWarning,
    highWaterBytes: config.flow.highWaterBytes,
    lowWaterBytes: config.flow.lowWaterBytes,
    tooSlowMs: config.flow.tooSlow,
    screen: config.screen,
    shell: {
      command: config.shell.command,
      path: config.shell.path ?? serverEnv.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      passEnv: config.shell.passEnv,
      serverEnv,
    },
  };
}

/** Really full: the session cap, or every sandbox uid in use. */
export class CapacityError extends Error {}

/**
 * The server ran out of file descriptors (EMFILE, ENFILE) while making the session: not full,
 * starved, and the instructor needs to know which (a relay flood once showed as "full").
 */
export class OutOfFilesError extends Error {}

/** Whether an error, or one it was caused by, is EMFILE or ENFILE. */
export function isOutOfFiles(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EMFILE' || code === 'ENFILE' || /\bE[MN]FILE\b/.test(e.message)) return true;
  }
  return false;
}

/** The cluster could not give the session what it needs (namespace, token). */
export class LeaseError extends Error {}

/** This machine could not make the session's sandbox (its home mount, its cgroup, …). */
export class SandboxError extends Error {}

export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #max: number;
  readonly #stateDir: string;
  readonly #settings: SessionSettings;
  readonly #provider: ClusterProvider;
  readonly #log: Logger;
  readonly #observers: RegistryEvents[] = [];
  readonly #metrics: Metrics | undefined;
  readonly #isolation: Isolation | undefined;
  readonly #screens: ScreenHost | undefined;
  /** sessions being created, counted against capacity before their lease exists */
  #starting = 0;

  constructor(init: {
    max: number;
    stateDir: string;
    settings: SessionSettings;
    provider: ClusterProvider;
    log: Logger;
    metrics?: Metrics;
    isolation?: Isolation;
    screens?: ScreenHost;
  }) {
    this.#max = init.max;
    this.#stateDir = init.stateDir;
    this.#settings = init.settings;
    this.#provider = init.provider;
    this.#log = init.log;
    this.#metrics = init.metrics;
    this.#isolation = init.isolation;
    this.#screens = init.screens;
  }

  /** Calls `events` from now on, as sessions come, go, attach and report progress. */
  observe(events: RegistryEvents): void {
    this.#observers.push(events);
  }

  get active(): number {
    return this.#sessions.size;
  }

  get max(): number {
    return this.#max;
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  all(): Session[] {
    return [...this.#sessions.values()];
  }

  /**
   * Throws CapacityError when full, SandboxError or LeaseError when a part cannot be made,
   * OutOfFilesError when the server is out of file descriptors.
   */
  async create(): Promise<Session> {
    if (this.#sessions.size + this.#starting >= this.#max) {
      throw new CapacityError('full');
    }
    this.#starting++;
    try {
      const id = createSessionId();
      const home = join(this.#stateDir, 'sessions', id);
      const started = Date.now();
      // The sandbox first: it may mount the home that the lease then writes its kubeconfig in.
      let sandbox: SessionSandbox | undefined;
      try {
        sandbox = await this.#isolation?.open(id, home);
      } catch (error) {
        removeHome(home);
        if (error instanceof UidsExhaustedError) {
          this.#log.log('warn', 'sandbox_full', { session: id, message: error.message });
          throw new CapacityError(error.message);
        }
        this.#log.log('error', 'sandbox_failed', {
          session: id,
          message: (error as Error).message,
        });
        if (isOutOfFiles(error)) throw new OutOfFilesError((error as Error).message);
        throw new SandboxError((error as Error).message);
      }
      let lease: Awaited<ReturnType<ClusterProvider['lease']>>;
      try {
        lease = await this.#provider.lease(id, home);
      } catch (error) {
        await sandbox?.dispose();
        removeHome(home);
        this.#log.log('error', 'lease_failed', { session: id, message: (error as Error).message });
        if (isOutOfFiles(error)) throw new OutOfFilesError((error as Error).message);
        throw new LeaseError((error as Error).message);
      }
      const session = new Session({
        id,
        token: createToken(),
        home,
        lease,
        settings: this.#settings,
        log: this.#log,
        ...(this.#metrics ? { metrics: this.#metrics } : {}),
        ...(sandbox ? { sandbox } : {}),
        ...(this.#screens ? { screens: this.#screens } : {}),
        events: {
          onEnd: (ended, reason) => {
            this.#sessions.delete(ended.id);
            this.#metrics?.ended(reason);
            for (const events of this.#observers) events.onEnded?.(ended, reason);
          },
          onProgress: (s, p) => {
            for (const events of this.#observers) events.onProgress?.(s, p);
          },
          onTask: (s, r) => {
            for (const events of this.#observers) events.onTask?.(s, r);
          },
          onAttachChange: (s) => {
            for (const events of this.#observers) events.onAttachChange?.(s);
          },
        },
      });
      this.#sessions.set(id, session);
      if (this.#metrics) this.#metrics.sessionsCreated++;
      this.#log.log('info', 'session_created', {
        session: id,
        namespace: lease.namespace,
        ms: Date.now() - started,
      });
      for (const events of this.#observers) events.onCreated?.(session);
      return session;
    } catch (error) {
      // Out of descriptors anywhere (the shell's spawn too): said as such, never as "full".
      if (isOutOfFiles(error) && !(error instanceof OutOfFilesError)) {
        throw new OutOfFilesError((error as Error).message);
      }
      throw error;
    } finally {
      this.#starting--;
    }
  }

  async endAll(reason: EndReason): Promise<void> {
    await Promise.all(this.all().map((session) => session.end(reason)));
  }
}
