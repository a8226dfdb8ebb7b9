/**
 * Workshop isolation, put together: one `Isolation` per server (the checked host, the uid pool,
 * the settings), one `SessionSandbox` per session (its uid and its cgroup, kept across shell
 * restarts). The session asks its sandbox for the argv of each shell it starts, and disposes
 * of it once, after which no process of the session is left and the uid can be handed out
 * again.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, ConfigSchema } from '../config/config.ts';
import type { Logger } from '../telemetry/log.ts';
import type { RelayEntrance, RelayEntrances } from './api-relay.ts';
import { type CgroupLimits, SessionCgroup } from './cgroup.ts';
import {
  homeMountUnavailable,
  mountHome,
  unmountHomesOfDeadServers,
  unmountUnder,
} from './home-mount.ts';
import {
  accountsInRange,
  checkSandboxHost,
  hardProcessLimit,
  hostSystemEntries,
  ownNetworkUnavailable,
  readOnlyBinds,
  SandboxUnavailableError,
} from './host.ts';
import { ParticipantNetwork } from './participant-network.ts';
import { prepareSandboxHome } from './sandbox-home.ts';
import { type SandboxTools, type SystemEntry, sandboxedCommand } from './sandboxed-shell.ts';
import { sandboxSeccompFilter, seccompSupported } from './seccomp-filter.ts';
import { UidPool } from './uid-pool.ts';
import { killProcessesOfUid } from './uid-processes.ts';

export interface IsolationSettings extends CgroupLimits {
  /** the range of uids (each also a gid) for sessions: unused by any account or file */
  uidFirst: number;
  uidLast: number;
  /** size of each session's private /tmp and /dev/shm; 0: tmpfs default (half of RAM) */
  tmpSizeBytes: number;
  /** size of each session's home, a tmpfs of its own (home-mount.ts); 0: no limit */
  homeSizeBytes: number;
  /**
   * The API server relay (api-relay.ts): shells get a network of their own whose only way out
   * is their session's entrance to the relay. Undefined: shells share this machine's network.
   */
  apiRelay?: RelayEntrances | undefined;
  /** where session cgroups go (see SessionCgroup.create) */
  cgroupParent: string;
  /** host folders shown read-only besides the system (e.g. a tools folder outside /usr) */
  readOnlyPaths: readonly string[];
  hostname: string;
}

/** The isolation settings of `--sandbox-*`, with the relay when shells have a network of their own. */
export function isolationSettings(
  sandbox: Config['sandbox'],
  apiRelay: RelayEntrances | undefined,
): IsolationSettings {
  return {
    uidFirst: sandbox.uidFirst,
    uidLast: sandbox.uidLast,
    pids: sandbox.pids,
    memoryBytes: sandbox.memory,
    cpuPercent: sandbox.cpuPercent,
    tmpSizeBytes: sandbox.tmpSize,
    homeSizeBytes: sandbox.homeSize,
    apiRelay,
    cgroupParent: sandbox.cgroupParent,
    readOnlyPaths: sandbox.readOnlyPaths,
    hostname: 'kubenotes',
  };
}

/** The settings' defaults (config/settings.ts), for callers that give only some. */
export const DEFAULT_ISOLATION: IsolationSettings = isolationSettings(
  ConfigSchema.parse({}).sandbox,
  undefined,
);

export class Isolation {
  readonly settings: IsolationSettings;
  readonly #tools: SandboxTools;
  readonly #system: SystemEntry[];
  readonly #pool: UidPool;
  readonly #log: Logger;
  readonly #seccompFile: string;
  /** each participant's network, by participant (their first session's id) */
  readonly #networks = new Map<string, ParticipantNetwork>();
  #warnedNoCgroup = false;

  private constructor(
    settings: IsolationSettings,
    tools: SandboxTools,
    log: Logger,
    seccompFile: string,
  ) {
    this.settings = settings;
    this.#seccompFile = seccompFile;
    this.#tools = tools;
    this.#system = hostSystemEntries();
    this.#pool = new UidPool(settings.uidFirst, settings.uidLast);
    this.#log = log;
  }

  /**
   * Checks the host (root, bwrap, setpriv, prlimit, and a home mount in `homesDir` unless homes
   * are unlimited); throws SandboxUnavailableError if not.
   */
  static create(settings: Partial<IsolationSettings>, log: Logger, homesDir: string): Isolation {
    const all = { ...DEFAULT_ISOLATION, ...settings };
    readOnlyBinds(all.readOnlyPaths); // validates
    const tools = checkSandboxHost(process.env, undefined, all.apiRelay !== undefined);
    if (all.apiRelay) {
      const unavailable = ownNetworkUnavailable(tools.bwrap);
      if (unavailable) throw new SandboxUnavailableError(unavailable);
    }
    const clashes = accountsInRange(all.uidFirst, all.uidLast);
    if (clashes.length > 0) {
      throw new SandboxUnavailableError(
        `The sandbox uid range ${all.uidFirst}-${all.uidLast} holds accounts of /etc/passwd (${clashes.join(', ')}): choose a range no account uses (sandbox.uidFirst / sandbox.uidLast).`,
      );
    }
    if (!seccompSupported()) {
      throw new SandboxUnavailableError(
        `The sandbox's seccomp filter (no user namespaces inside) has no syscall table for ${process.arch}; workshop shells need x64 or arm64.`,
      );
    }
    mkdirSync(homesDir, { recursive: true, mode: 0o700 });
    // Root's alone (the folder is 0700); bwrap reads it as root, before dropping anything.
    const seccompFile = join(homesDir, 'seccomp.bpf');
    writeFileSync(seccompFile, sandboxSeccompFilter(), { mode: 0o600 });
    if (all.homeSizeBytes > 0) {
      const stale = unmountHomesOfDeadServers();
      if (stale.unmounted.length > 0 || stale.failures.length > 0) {
        log.log('warn', 'stale_homes_unmounted', {
          homes: stale.unmounted.join(','),
          failures: stale.failures.join('; '),
        });
      }
      const unavailable = homeMountUnavailable(homesDir);
      if (unavailable) throw new SandboxUnavailableError(unavailable);
    }
    return new Isolation(all, tools, log, seccompFile);
  }

  /**
   * The sandbox of a new session: a uid of its own (throws when the range is used up) and a
   * cgroup where the tree allows one (else the reason is logged, once per server). With a
   * relay, its shells run in the network of `participant` (the first session's id, which is
   * `sessionId` for a first session): made with the first, shared by the rest.
   *
   * Each terminal keeps a uid of its own although it is the same participant's: its relay
   * entrance is its uid's alone (so each session has its own cap), and ending Terminal 1 kills
   * the processes of its uid, not those of Terminal 2.
   */
  async open(
    sessionId: string,
    home: string,
    participant: string = sessionId,
  ): Promise<SessionSandbox> {
    const uid = this.#pool.take();
    let created: ReturnType<typeof SessionCgroup.create>;
    let entrance: RelayEntrance | undefined;
    let network: { shared: ParticipantNetwork; port: number } | undefined;
    try {
      // Before anything is written into the home (the lease's kubeconfig, the rcfile).
      if (this.settings.homeSizeBytes > 0) await mountHome(home, this.settings.homeSizeBytes);
      entrance = await this.settings.apiRelay?.open(uid);
      if (entrance) network = await this.#network(sessionId, participant);
      created = SessionCgroup.create(`session-${sessionId}`, this.settings, {
        parent: this.settings.cgroupParent,
      });
    } catch (error) {
      if (network) {
        network.shared.release(network.port);
        if (network.shared.closed) this.#networks.delete(participant);
      }
      await entrance?.dispose();
      await unmountUnder(home);
      // The folder mountHome made: a session that never started leaves no home behind.
      rmSync(home, { recursive: true, force: true });
      this.#pool.release(uid); // nothing ran as it yet
      throw error;
    }
    let cgroup: SessionCgroup | undefined;
    if ('unavailable' in created) {
      if (!this.#warnedNoCgroup) {
        this.#warnedNoCgroup = true;
        this.#log.log('warn', 'sandbox_cgroup_unavailable', { reason: created.unavailable });
      }
    } else {
      cgroup = created;
      if (created.notes.length > 0) {
        this.#log.log('warn', 'sandbox_cgroup_partial', { notes: created.notes.join('; ') });
      }
    }
    this.#log.log('info', 'sandbox_opened', {
      session: sessionId,
      uid,
      cgroup: cgroup ? cgroup.limited.join(',') : 'none',
      ...(network ? { participant, apiPort: network.port } : {}),
    });
    return new SessionSandbox({
      sessionId,
      home,
      uid,
      cgroup,
      ...(entrance ? { entrance } : {}),
      ...(network ? { apiPort: network.port } : {}),
      build: (inner, use) =>
        sandboxedCommand(inner, {
          home,
          uid,
          cgroupProcs: cgroup?.procsFiles ?? [],
          system: this.#system,
          // A second line of defence, per uid, should the cgroup be missing.
          maxProcesses: Math.min(this.settings.pids, hardProcessLimit()),
          tmpSizeBytes: this.settings.tmpSizeBytes,
          extraBinds: readOnlyBinds(this.settings.readOnlyPaths),
          hostname: this.settings.hostname,
          tools: this.#tools,
          seccompFile: this.#seccompFile,
          ...(entrance
            ? {
                apiRelay: {
                  socket: entrance.socket,
                  // A check gets a network of its own, with its relay on the session's port:
                  // in the shared one it would hold that port for a moment, and a shell
                  // starting then would find its relay missing.
                  ...(network
                    ? {
                        port: network.port,
                        ...(use === 'check' ? {} : { network: network.shared.path }),
                      }
                    : {}),
                },
              }
            : {}),
        }),
      release: (leftover) => {
        // The port is free once the session's relay (a process of its uid) is gone.
        if (network) {
          network.shared.release(network.port);
          if (network.shared.closed) this.#networks.delete(participant);
        }
        if (leftover.length === 0) this.#pool.release(uid);
        else {
          // Never hand out a uid whose processes live on: keep it out of the pool.
          this.#log.log('error', 'sandbox_processes_survived', {
            session: sessionId,
            uid,
            pids: leftover.join(','),
          });
        }
      },
      log: this.#log,
    });
  }

  /**
   * The participant's network and this session's relay port in it; a first session makes it.
   * Undefined (a network of the shell's own, as before) if it cannot be made: logged, and the
   * terminals still work, only without a loopback in common.
   */
  async #network(
    sessionId: string,
    participant: string,
  ): Promise<{ shared: ParticipantNetwork; port: number } | undefined> {
    let shared = this.#networks.get(participant);
    if (!shared && participant === sessionId) {
      try {
        shared = await ParticipantNetwork.make(this.#tools.bwrap, this.#tools.bash);
        this.#networks.set(participant, shared);
      } catch (error) {
        this.#log.log('warn', 'sandbox_network_unshared', {
          session: sessionId,
          message: (error as Error).message,
        });
      }
    }
    return shared ? { shared, port: shared.take() } : undefined;
  }
}

/**
 * What a sandboxed command is for: a shell joins the participant's shared network; a task's
 * check (tasks/) needs no one's localhost and gets a network of its own.
 */
export type SandboxUse = 'shell' | 'check';

export class SessionSandbox {
  readonly sessionId: string;
  readonly home: string;
  readonly uid: number;
  readonly cgroup: SessionCgroup | undefined;
  /** where its shells' relay to the API server listens (undefined: SANDBOX_API_PORT or none) */
  readonly apiPort: number | undefined;
  readonly #entrance: RelayEntrance | undefined;
  readonly #build: (
    inner: { file: string; args: readonly string[] },
    use: SandboxUse,
  ) => {
    file: string;
    args: string[];
  };
  readonly #release: (leftover: number[]) => void;
  readonly #log: Logger;
  #disposed: Promise<void> | undefined;

  constructor(init: {
    sessionId: string;
    home: string;
    uid: number;
    cgroup: SessionCgroup | undefined;
    entrance?: RelayEntrance;
    apiPort?: number;
    build: SessionSandbox['command'];
    release: (leftover: number[]) => void;
    log: Logger;
  }) {
    this.sessionId = init.sessionId;
    this.home = init.home;
    this.uid = init.uid;
    this.cgroup = init.cgroup;
    this.#entrance = init.entrance;
    this.apiPort = init.apiPort;
    this.#build = init.build;
    this.#release = init.release;
    this.#log = init.log;
  }

  /**
   * Hands the home to the session's uid, then gives the argv for pty.spawn. Call it each
   * time a shell starts, after the server has written its files into the home.
   */
  command(
    inner: { file: string; args: readonly string[] },
    use: SandboxUse = 'shell',
  ): { file: string; args: string[] } {
    if (this.#disposed) throw new Error(`The sandbox of session ${this.sessionId} is disposed.`);
    prepareSandboxHome(this.home, this.uid);
    return this.#build(inner, use);
  }

  /**
   * Kills whatever of the session is left (its cgroup, then any process of its uid) and
   * gives the uid back once none is left. Never rejects: what goes wrong is logged.
   */
  dispose(): Promise<void> {
    this.#disposed ??= this.#dispose();
    return this.#disposed;
  }

  async #dispose(): Promise<void> {
    try {
      await this.cgroup?.dispose();
    } catch (error) {
      this.#log.log('error', 'sandbox_cgroup_dispose_failed', {
        session: this.sessionId,
        message: (error as Error).message,
      });
    }
    await this.#entrance?.dispose();
    this.#release(await killProcessesOfUid(this.uid));
    // Nothing of the session runs any more, so nothing holds the home's mount.
    const failures = await unmountUnder(this.home);
    if (failures.length > 0) {
      this.#log.log('error', 'sandbox_home_unmount_failed', {
        session: this.sessionId,
        failures: failures.join('; '),
      });
    }
  }
}
