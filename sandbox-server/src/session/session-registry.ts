/**
 * The live sessions: creates them within the configured capacity, finds them by id, and
 * ends them all on shutdown. Nothing else holds a session.
 */
import { join } from 'node:path';
import type { Config } from '../config/config.ts';
import type { Isolation, SessionSandbox } from '../isolation/isolation.ts';
import { UidsExhaustedError } from '../isolation/uid-pool.ts';
import type { ClusterLease, ClusterProvider } from '../providers/provider.ts';
import type { ScreenHost } from '../screen/screen.ts';
import type { ProgressMessage, TaskMessage } from '../shared/protocol.ts';
import { TERMINALS } from '../shared/protocol.ts';
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

/** The participant has as many terminals as the dock offers (TERMINALS) already. */
export class TerminalsFullError extends Error {}

/** The cluster could not give the session what it needs (namespace, token). */
export class LeaseError extends Error {}

/** This machine could not make the session's sandbox (its home mount, its cgroup, …). */
export class SandboxError extends Error {}

/**
 * `lease` as it is, but disposed by `dispose`. Everything else reads through to the lease (its
 * prototype), so a part a provider adds to its leases is never lost here.
 */
function holding(lease: ClusterLease, dispose: () => Promise<void>): ClusterLease {
  let disposed: Promise<void> | undefined;
  const held: ClusterLease = Object.create(lease);
  held.dispose = () => {
    disposed ??= dispose();
    return disposed;
  };
  return held;
}

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
  /**
   * Each participant's namespace lease (their first session's), held by each of their
   * sessions: it is disposed (the namespace deleted) when the last of them ends.
   */
  readonly #shared = new Map<string, { lease: ClusterLease; holders: number }>();
  /** second terminals being made, per participant, counted before they exist */
  readonly #joining = new Map<string, number>();

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

  /** The live sessions of a participant (their terminals). */
  terminalsOf(participant: string): Session[] {
    return this.all().filter((session) => session.participant === participant);
  }

  /**
   * A new session; with `joining`, the participant's next terminal: in the namespace of
   * their first session. Throws CapacityError when full, TerminalsFullError when the
   * participant has every terminal already, SandboxError or LeaseError when a part cannot be
   * made, OutOfFilesError when the server is out of file descriptors.
   */
  async create(joining?: Session): Promise<Session> {
    const participant = joining?.participant;
    if (participant !== undefined) {
      const held = this.terminalsOf(participant).length + (this.#joining.get(participant) ?? 0);
      if (held >= TERMINALS) throw new TerminalsFullError(String(TERMINALS));
    }
    if (this.#sessions.size + this.#starting >= this.#max) {
      throw new CapacityError('full');
    }
    this.#starting++;
    if (participant !== undefined) {
      this.#joining.set(participant, (this.#joining.get(participant) ?? 0) + 1);
    }
    try {
      const id = createSessionId();
      const home = join(this.#stateDir, 'sessions', id);
      const started = Date.now();
      // The sandbox first: it may mount the home that the lease then writes its kubeconfig in.
      let sandbox: SessionSandbox | undefined;
      try {
        // A participant's terminals share one network (and so one localhost).
        sandbox = await this.#isolation?.open(id, home, participant ?? id);
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
      let lease: ClusterLease;
      try {
        lease = await this.#lease(id, home, participant, sandbox?.apiPort);
      } catch (error) {
        await sandbox?.dispose();
        removeHome(home);
        this.#log.log('error', 'lease_failed', { session: id, message: (error as Error).message });
        if (isOutOfFiles(error)) throw new OutOfFilesError((error as Error).message);
        throw new LeaseError((error as Error).message);
      }
      const session = new Session({
        id,
        ...(participant !== undefined ? { participant } : {}),
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
      if (participant !== undefined) {
        const left = (this.#joining.get(participant) ?? 1) - 1;
        if (left > 0) this.#joining.set(participant, left);
        else this.#joining.delete(participant);
      }
    }
  }

  /**
   * The session's lease. A first session's is the participant's, kept until the last of their
   * terminals ends; a second terminal's joins it (provider.join; local providers, whose
   * leases hold nothing of their own, lease again) and holds it too.
   */
  async #lease(
    id: string,
    home: string,
    participant: string | undefined,
    apiPort: number | undefined,
  ): Promise<ClusterLease> {
    if (participant === undefined) {
      const lease = await this.#provider.lease(id, home);
      this.#shared.set(id, { lease, holders: 1 });
      return holding(lease, () => this.#release(id));
    }
    const shared = this.#shared.get(participant);
    if (!shared) throw new Error('the first session of this participant has ended');
    const own = this.#provider.join
      ? await this.#provider.join(shared.lease, id, home, apiPort)
      : await this.#provider.lease(id, home);
    shared.holders++;
    return holding(own, async () => {
      try {
        await own.dispose();
      } finally {
        await this.#release(participant);
      }
    });
  }

  async #release(participant: string): Promise<void> {
    const shared = this.#shared.get(participant);
    if (!shared) return;
    shared.holders--;
    if (shared.holders > 0) return;
    this.#shared.delete(participant);
    await shared.lease.dispose();
  }

  async endAll(reason: EndReason): Promise<void> {
    await Promise.all(this.all().map((session) => session.end(reason)));
  }
}
