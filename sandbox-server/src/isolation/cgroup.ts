/**
 * One cgroup per session, limiting its processes (pids), memory and CPU, so that one
 * participant's runaway command cannot starve the others or the server. Works on cgroup v2
 * (the unified tree), on v1 (one tree per controller) and on hybrid machines (each controller
 * taken from where it is enabled, v2 first). Session groups live under a parent, by default
 * `kubenotes` inside the server's own cgroup, so they stay within whatever limits the server
 * itself runs under.
 *
 * The tree may not be ours to write (a container with a read-only /sys/fs/cgroup, a v2 cgroup
 * that holds processes and so cannot delegate controllers): then `create` says why, in a
 * sentence worth logging, and the caller goes on without (the per-session uid and its
 * RLIMIT_NPROC still bound the process count).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type Controller = 'pids' | 'memory' | 'cpu';
export const CONTROLLERS: readonly Controller[] = ['pids', 'memory', 'cpu'];

export interface CgroupLimits {
  /** most tasks (processes and threads) at once; 0: no limit */
  pids: number;
  /** most memory (page cache and tmpfs included), without swap; 0: no limit */
  memoryBytes: number;
  /** CPU time as a percentage of one CPU (200: two CPUs); 0: no limit */
  cpuPercent: number;
}

/** A place to make groups: the server's own cgroup in one hierarchy (one mount). */
export interface Hierarchy {
  version: 1 | 2;
  /** the server's own cgroup in this hierarchy, as a directory */
  ownDir: string;
  /** the directory the hierarchy is mounted at */
  mountPoint: string;
  controllers: Controller[];
}

/** What the kernel says: /proc/self/mountinfo, /proc/self/cgroup, and v2 controller lists. */
export interface CgroupSources {
  mountinfo: string;
  selfCgroup: string;
  /** the content of `cgroup.controllers` in a v2 directory, or undefined */
  readControllers(dir: string): string | undefined;
}

export function hostCgroupSources(): CgroupSources {
  return {
    mountinfo: readFileSync('/proc/self/mountinfo', 'utf8'),
    selfCgroup: readFileSync('/proc/self/cgroup', 'utf8'),
    readControllers: (dir) => readOrUndefined(join(dir, 'cgroup.controllers')),
  };
}

/**
 * Where each wanted controller can be used: from the cgroup2 mount when it is enabled there,
 * else from the v1 mount that carries it. Controllers found nowhere are listed in `missing`
 * with the reason. Pure but for `readControllers`.
 */
export function findHierarchies(
  sources: CgroupSources,
  wanted: readonly Controller[] = CONTROLLERS,
): { hierarchies: Hierarchy[]; missing: string[] } {
  const own = new Map<string, string>(); // "0" (v2) or a v1 controller → the server's path
  for (const line of sources.selfCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, names = '', path = '/'] = match;
    if (id === '0' && names === '') own.set('0', path);
    else for (const name of names.split(',')) own.set(name, path);
  }
  const mounts = parseMountinfo(sources.mountinfo);
  const hierarchies: Hierarchy[] = [];
  const missing: string[] = [];
  const remaining = new Set(wanted);

  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  const v2Path = own.get('0');
  if (v2 && v2Path !== undefined) {
    const ownDir = dirInMount(v2, v2Path);
    const enabled = ownDir ? (sources.readControllers(ownDir) ?? '').split(/\s+/) : [];
    const here = [...remaining].filter((c) => enabled.includes(c));
    if (ownDir && here.length > 0) {
      hierarchies.push({ version: 2, ownDir, mountPoint: v2.mountPoint, controllers: here });
      for (const c of here) remaining.delete(c);
    }
  }
  for (const controller of [...remaining]) {
    const mount = mounts.find(
      (m) => m.fsType === 'cgroup' && m.superOptions.split(',').includes(controller),
    );
    const path = own.get(controller);
    if (!mount || path === undefined) {
      missing.push(`${controller}: no cgroup hierarchy offers this controller`);
      continue;
    }
    const ownDir = dirInMount(mount, path);
    if (!ownDir) {
      missing.push(
        `${controller}: the server's cgroup ${path} is outside the part of the tree mounted at ${mount.mountPoint}`,
      );
      continue;
    }
    const shared = hierarchies.find((h) => h.version === 1 && h.mountPoint === mount.mountPoint);
    if (shared) shared.controllers.push(controller);
    else
      hierarchies.push({
        version: 1,
        ownDir,
        mountPoint: mount.mountPoint,
        controllers: [controller],
      });
  }
  return { hierarchies, missing };
}

interface Mount {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string;
}

function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    // id parent major:minor root mount-point options [optional fields] - type source super-options
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const fields = before.split(' ');
    const [fsType = '', , superOptions = ''] = after.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (!root || !mountPoint) continue;
    mounts.push({
      root: unescapeMount(root),
      mountPoint: unescapeMount(mountPoint),
      fsType,
      superOptions,
    });
  }
  return mounts;
}

/** mountinfo writes space, tab, newline and backslash as octal escapes. */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** The directory of cgroup `path` under `mount`, or undefined when the mount does not show it. */
function dirInMount(mount: Mount, path: string): string | undefined {
  const root = mount.root === '/' ? '' : mount.root;
  if (root && path !== root && !path.startsWith(`${root}/`)) return undefined;
  const dir = posix.join(mount.mountPoint, path.slice(root.length));
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}

/** Files to write for the limits, per controller, in the given cgroup version. Pure. */
export function limitFiles(
  version: 1 | 2,
  controller: Controller,
  limits: CgroupLimits,
  has: (file: string) => boolean = () => true,
): [file: string, value: string][] {
  const CFS_PERIOD_US = 100_000;
  switch (controller) {
    case 'pids':
      return [['pids.max', limits.pids > 0 ? String(limits.pids) : 'max']];
    case 'memory': {
      if (version === 2) {
        const files: [string, string][] = [
          ['memory.max', limits.memoryBytes > 0 ? String(limits.memoryBytes) : 'max'],
        ];
        // Without this, a session could go on past memory.max by swapping.
        if (has('memory.swap.max')) files.push(['memory.swap.max', '0']);
        return files;
      }
      const bytes = limits.memoryBytes > 0 ? String(limits.memoryBytes) : '-1';
      if (!has('memory.memsw.limit_in_bytes')) return [['memory.limit_in_bytes', bytes]];
      // With swap accounting, memory+swap gets the same figure, so swap adds nothing. The
      // kernel wants memsw >= memory at every step: lift memsw first (a group left by an
      // earlier run may hold a lower one), then set memory, then memsw.
      return [
        ['memory.memsw.limit_in_bytes', '-1'],
        ['memory.limit_in_bytes', bytes],
        ['memory.memsw.limit_in_bytes', bytes],
      ];
    }
    case 'cpu': {
      const quota =
        limits.cpuPercent > 0
          ? Math.max(1000, Math.round((limits.cpuPercent / 100) * CFS_PERIOD_US))
          : -1;
      if (version === 2) return [['cpu.max', `${quota > 0 ? quota : 'max'} ${CFS_PERIOD_US}`]];
      return [
        ['cpu.cfs_period_us', String(CFS_PERIOD_US)],
        ['cpu.cfs_quota_us', String(quota)],
      ];
    }
  }
}

export interface CreateOptions {
  /**
   * Where session groups go: relative paths are taken from the server's own cgroup (default
   * `kubenotes`; `../sessions` suits a systemd unit with Delegate=yes and DelegateSubgroup=),
   * absolute ones from the root of each hierarchy.
   */
  parent?: string;
  sources?: CgroupSources;
}

/** One made group: its directory in one hierarchy, and what it limits. */
interface Group {
  version: 1 | 2;
  dir: string;
  parentDir: string;
  controllers: Controller[];
}

export class SessionCgroup {
  readonly name: string;
  /** the controllers that limit this session */
  readonly limited: readonly Controller[];
  /** what could not be limited, and why (log-worthy; empty when all is well) */
  readonly notes: readonly string[];
  readonly #groups: readonly Group[];
  #disposed: Promise<void> | undefined;

  private constructor(name: string, groups: Group[], notes: string[]) {
    this.name = name;
    this.#groups = groups;
    this.limited = groups.flatMap((g) => g.controllers);
    this.notes = notes;
  }

  /**
   * Makes the session's group in every hierarchy that offers one of the controllers, with the
   * limits written. `{ unavailable }` (with the reasons) when no controller could be set up.
   */
  static create(
    name: string,
    limits: CgroupLimits,
    options: CreateOptions = {},
  ): SessionCgroup | { unavailable: string } {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
      throw new Error(`"${name}" cannot name a cgroup: use letters, digits, '_', '.' and '-'.`);
    }
    let found: ReturnType<typeof findHierarchies>;
    try {
      found = findHierarchies(options.sources ?? hostCgroupSources());
    } catch (error) {
      return { unavailable: `cannot read the cgroup layout: ${message(error)}` };
    }
    const notes = [...found.missing];
    const groups: Group[] = [];
    for (const hierarchy of found.hierarchies) {
      try {
        groups.push(makeGroup(hierarchy, options.parent ?? 'kubenotes', name, limits));
      } catch (error) {
        notes.push(
          `${hierarchy.controllers.join(', ')} (cgroup v${hierarchy.version}): ${message(error)}`,
        );
      }
    }
    if (groups.length === 0) {
      return {
        unavailable: `no per-session cgroup: ${notes.join('; ') || 'no cgroup tree found'}`,
      };
    }
    return new SessionCgroup(name, groups, notes);
  }

  /** The `cgroup.procs` files a process writes its pid to, to join the session's groups. */
  get procsFiles(): string[] {
    return this.#groups.map((g) => join(g.dir, 'cgroup.procs'));
  }

  /** The directories of the session's groups (one per hierarchy). */
  get dirs(): string[] {
    return this.#groups.map((g) => g.dir);
  }

  /** Live pids in the session's groups (as the server sees them). */
  pids(): number[] {
    const pids = new Set<number>();
    for (const file of this.procsFiles) {
      for (const line of (readOrUndefined(file) ?? '').split('\n')) {
        if (line.trim()) pids.add(Number(line));
      }
    }
    return [...pids];
  }

  /**
   * Kills every process left in the session's groups (cgroup.kill on v2, else SIGKILL to each
   * pid, repeated until none is left: a fork bomb races a single sweep, but the pids limit
   * bounds it), then removes the groups and, when empty, their parent. Resolves once the
   * groups are gone; rejects if processes survive `timeoutMs`.
   */
  dispose(timeoutMs = 5000): Promise<void> {
    this.#disposed ??= this.#dispose(timeoutMs);
    return this.#disposed;
  }

  async #dispose(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let remaining = [...this.#groups];
    for (;;) {
      for (const group of remaining) killGroup(group);
      remaining = remaining.filter((group) => !tryRmdir(group.dir));
      if (remaining.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `cgroup ${this.name}: processes ${this.pids().join(', ')} survived SIGKILL for ${timeoutMs} ms; ${remaining.map((g) => g.dir).join(', ')} left in place`,
        );
      }
      await sleep(20);
    }
    for (const group of this.#groups) tryRmdir(group.parentDir);
  }
}

function makeGroup(
  hierarchy: Hierarchy,
  parent: string,
  name: string,
  limits: CgroupLimits,
): Group {
  const parentDir = parent.startsWith('/')
    ? posix.join(hierarchy.mountPoint, parent)
    : posix.join(hierarchy.ownDir, parent);
  if (parentDir !== hierarchy.mountPoint && !parentDir.startsWith(`${hierarchy.mountPoint}/`)) {
    throw new Error(`the cgroup parent "${parent}" leads out of ${hierarchy.mountPoint}`);
  }
  if (hierarchy.version === 2) {
    // A v2 group can only use controllers its parent enables for children, top-down.
    enableControllers(posix.dirname(parentDir), hierarchy.controllers);
  }
  makeDirs(hierarchy.mountPoint, parentDir);
  if (hierarchy.version === 2) enableControllers(parentDir, hierarchy.controllers);
  const dir = join(parentDir, name);
  try {
    mkdirSync(dir);
  } catch (error) {
    // Left by a server that ended without cleaning up: empty it and use it again.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new Error(`mkdir ${dir}: ${message(error)}`);
    }
  }
  const group: Group = {
    version: hierarchy.version,
    dir,
    parentDir,
    controllers: hierarchy.controllers,
  };
  try {
    killGroup(group);
    for (const controller of hierarchy.controllers) {
      const has = (file: string) => existsSync(join(dir, file));
      for (const [file, value] of limitFiles(hierarchy.version, controller, limits, has)) {
        attempt(
          () => writeFileSync(join(dir, file), value),
          `write ${value} to ${join(dir, file)}`,
        );
      }
    }
  } catch (error) {
    tryRmdir(dir);
    tryRmdir(parentDir);
    throw error;
  }
  return group;
}

/**
 * mkdir -p from `base` down to `dir`, one level at a time: Node's recursive mkdir reports a
 * read-only cgroup tree as ENOENT, and the reason is what the operator needs to see.
 */
function makeDirs(base: string, dir: string): void {
  let path = base;
  for (const part of posix.relative(base, dir).split('/').filter(Boolean)) {
    path = posix.join(path, part);
    try {
      mkdirSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`mkdir ${path}: ${message(error)}`);
      }
    }
  }
}

function enableControllers(dir: string, controllers: readonly Controller[]): void {
  const file = join(dir, 'cgroup.subtree_control');
  const enabled = (readOrUndefined(file) ?? '').split(/\s+/);
  const missing = controllers.filter((c) => !enabled.includes(c));
  if (missing.length === 0) return;
  try {
    writeFileSync(file, missing.map((c) => `+${c}`).join(' '));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EBUSY'
        ? ` (a v2 cgroup that holds processes cannot hand controllers to child groups: run the server in a delegated subtree, e.g. systemd Delegate=yes with DelegateSubgroup=server and sandbox.cgroupParent ../sessions)`
        : '';
    throw new Error(`enable ${missing.join(', ')} in ${file}: ${message(error)}${why}`);
  }
}

function killGroup(group: Group): void {
  if (group.version === 2) {
    // cgroup.kill (Linux 5.14+) kills the whole group at once, forks in flight included.
    try {
      writeFileSync(join(group.dir, 'cgroup.kill'), '1');
      return;
    } catch {
      // Older kernel: fall through to one signal per process.
    }
  }
  for (const line of (readOrUndefined(join(group.dir, 'cgroup.procs')) ?? '').split('\n')) {
    const pid = Number(line);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Removes an (empty) group directory; false while processes remain in it. */
function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function attempt(action: () => void, what: string): void {
  try {
    action();
  } catch (error) {
    throw new Error(`${what}: ${message(error)}`);
  }
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function message(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code
    ? `${e.code} (${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')})`
    : e.message;
}
