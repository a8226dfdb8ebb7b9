/**
 * What the host must offer for sandboxed shells, checked once at start-up with errors that
 * say what to install or change: root (to put each shell in its cgroup and drop it to its
 * uid), bubblewrap, and util-linux's setpriv and prlimit. Also describes the host's system
 * folders as the sandbox shows them (merged-/usr hosts have /bin, /lib… as symlinks).
 */
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  lstatSync,
  readFileSync,
  readlinkSync,
  realpathSync,
} from 'node:fs';
import { delimiter, join, posix } from 'node:path';
import type { SandboxTools, SystemEntry } from './sandboxed-shell.ts';

/** Shown read-only in every sandbox when present on the host. */
export const DEFAULT_SYSTEM_PATHS: readonly string[] = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/etc',
];

export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
}

/**
 * The programs of the chain, by absolute path, or a SandboxUnavailableError naming what is
 * missing and how to get it.
 */
export function checkSandboxHost(
  env: { PATH?: string | undefined } = process.env,
  fallbackDirs: readonly string[] = ['/usr/local/bin', '/usr/bin', '/bin'],
  /** whether shells get a network of their own, reaching the cluster through socat */
  ownNetwork = false,
): SandboxTools {
  if (process.getuid?.() !== 0) {
    throw new SandboxUnavailableError(
      'Workshop shell isolation needs the server to run as root (it puts each shell in its own cgroup and drops it to a session uid); start it as root, or run in local mode.',
    );
  }
  const dirs = [...(env.PATH ?? '').split(delimiter), ...fallbackDirs];
  const find = (name: string, hint: string): string => {
    for (const dir of dirs) {
      if (!dir.startsWith('/')) continue;
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // Not in this folder.
      }
    }
    throw new SandboxUnavailableError(hint);
  };
  // bwrap first: the one most likely missing.
  return {
    bwrap: find(
      'bwrap',
      'bubblewrap (bwrap) is not installed: apt-get install bubblewrap, or run in local mode.',
    ),
    bash: find('bash', 'bash is not installed: apt-get install bash, or run in local mode.'),
    setpriv: find(
      'setpriv',
      'setpriv is not installed (util-linux): apt-get install util-linux, or run in local mode.',
    ),
    prlimit: find(
      'prlimit',
      'prlimit is not installed (util-linux): apt-get install util-linux, or run in local mode.',
    ),
    ...(ownNetwork
      ? {
          socat: find(
            'socat',
            "socat is not installed, and each workshop shell's own network reaches the cluster through it: apt-get install socat, or start with --sandbox-network host (shells then share this machine's network).",
          ),
          nsenter: find(
            'nsenter',
            "nsenter is not installed (util-linux), and a participant's terminals share their network through it: apt-get install util-linux, or start with --sandbox-network host (shells then share this machine's network).",
          ),
        }
      : {}),
  };
}

/**
 * How each of `paths` appears in the sandbox: a read-only bind of a folder, or the same
 * symlink (so /bin -> usr/bin still resolves inside); missing paths are left out. Also binds
 * what a symlinked /etc/resolv.conf points at (systemd-resolved keeps it under /run, which
 * the sandbox does not show), or name resolution would fail inside.
 */
export function hostSystemEntries(paths: readonly string[] = DEFAULT_SYSTEM_PATHS): SystemEntry[] {
  const entries: SystemEntry[] = [];
  const bound: string[] = [];
  for (const path of paths) {
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) {
      entries.push({ kind: 'symlink', target: readlinkSync(path), dest: path });
    } else {
      entries.push({ kind: 'ro-bind', src: path, dest: path });
      bound.push(path);
    }
  }
  const inside = (file: string) => bound.some((dir) => file === dir || file.startsWith(`${dir}/`));
  if (bound.includes('/etc')) {
    try {
      if (lstatSync('/etc/resolv.conf').isSymbolicLink()) {
        const real = realpathSync('/etc/resolv.conf');
        if (!inside(real)) entries.push({ kind: 'ro-bind', src: real, dest: real });
      }
    } catch {
      // No resolv.conf, or a dangling link: nothing to show.
    }
  }
  return entries;
}

/** Read-only binds for extra host folders (e.g. where kubectl lives, when not under /usr). */
export function readOnlyBinds(
  paths: readonly string[],
): { src: string; dest: string; readOnly: true }[] {
  return paths.map((path) => {
    if (!posix.isAbsolute(path)) {
      throw new SandboxUnavailableError(`The sandbox read-only path "${path}" must be absolute.`);
    }
    return { src: path, dest: path, readOnly: true };
  });
}

/**
 * The server's own hard RLIMIT_NPROC (Infinity when unlimited or unknown). Lowering a limit
 * always works; raising it past the hard limit needs CAP_SYS_RESOURCE, which containers often
 * drop ("prlimit: failed to set the NPROC resource limit: Operation not permitted"), so the
 * sandbox never asks for more than this.
 */
export function hardProcessLimit(limits = readLimits()): number {
  const match = /^Max processes\s+\S+\s+(\S+)/m.exec(limits);
  const value = Number(match?.[1]);
  return Number.isFinite(value) && value > 0 ? value : Infinity;
}

function readLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Accounts of /etc/passwd whose uid (or gid) lies in the sandbox range: such a uid would
 * hand a participant that account's files. Returns "name (uid)" strings; empty when clear.
 */
export function accountsInRange(first: number, last: number, passwd = readPasswd()): string[] {
  const clashes: string[] = [];
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    const ids = [Number(uid), Number(gid)];
    if (name && ids.some((id) => Number.isInteger(id) && id >= first && id <= last)) {
      clashes.push(`${name} (${uid}:${gid})`);
    }
  }
  return clashes;
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Why bwrap cannot give a shell a network of its own here, or undefined if it can. Making the
 * namespace takes CAP_SYS_ADMIN, bringing its loopback up CAP_NET_ADMIN: a container with the
 * first alone fails every shell with "bwrap: loopback: Failed RTM_NEWADDR".
 */
export function ownNetworkUnavailable(bwrap: string): string | undefined {
  const probe = spawnSync(bwrap, ['--ro-bind', '/', '/', '--unshare-net', '--', 'true'], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin' },
    timeout: 10_000,
  });
  if (probe.status === 0) return undefined;
  const why = (probe.error?.message ?? probe.stderr ?? '').trim() || `exit ${probe.status}`;
  return `Workshop shells get a network of their own, and bwrap could not make one here (${why}). Give the server CAP_NET_ADMIN as well as CAP_SYS_ADMIN (docker run --cap-add NET_ADMIN), or start with --sandbox-network host, where shells share this machine's network and reach whatever listens on it.`;
}
