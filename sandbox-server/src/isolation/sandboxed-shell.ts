/**
 * The argv that runs a participant's shell in a sandbox. Pure: it only builds arguments; the
 * server (root) gives them to pty.spawn. The chain, each step exec'ing the next:
 *
 *   bash (root)      closes inherited descriptors, then joins the session's cgroup(s)
 *                    before anything else runs, so everything after is counted
 *   prlimit          sets RLIMIT_NPROC, a per-uid cap that holds even without cgroups, and
 *                    RLIMIT_NOFILE (soft and hard) far below the server's own
 *   bwrap            new mount, pid, ipc, uts (and cgroup) namespaces: a read-only system, a
 *                    fresh /proc that shows only the sandbox's processes, a minimal /dev (no
 *                    Docker socket: nothing of /run or /var is there), private /tmp and
 *                    /dev/shm, and the session's home, alone, at its own path
 *                    (bwrap also loads the seccomp filter, seccomp-filter.ts: no user
 *                    namespaces, no mount API, no keyrings, bpf or io_uring)
 *   setpriv          drops to the session's uid/gid for good: no supplementary groups, no
 *                    capabilities (bounding set emptied), no_new_privs (setuid binaries such
 *                    as su or sudo cannot raise it again)
 *   the shell        as the participant
 *
 * Why not bwrap's own --uid/--gid: they need a user namespace, and bwrap maps the sandbox
 * uid to the caller's, root, so files would be touched as root. setpriv changes the real uid.
 *
 * Why not --new-session: it calls setsid(), which takes the pty away as controlling terminal,
 * and bash loses job control (no Ctrl-C, no Ctrl-Z, "no job control in this shell"). Its
 * purpose, stopping TIOCSTI from typing into a terminal outside the sandbox, does not apply:
 * the pty belongs to this session alone, and the only reader of its input is the sandboxed
 * shell itself.
 *
 * The network, with `apiRelay`: a namespace with a loopback and nothing else, and a relay
 * (api-relay.ts) from 127.0.0.1:<port> inside to the cluster's API server. With `network`, the
 * namespace is the participant's (participant-network.ts), shared by all their terminals: the
 * root step enters it with nsenter before bwrap, which then leaves the network as it is;
 * without, bwrap makes one for this shell alone (--unshare-net). Without `apiRelay` the shell
 * shares the server's network, and whatever listens there stays reachable.
 */

import { SANDBOX_API_PORT, SANDBOX_API_SOCKET } from './api-relay.ts';

/** How one top-level system path appears in the sandbox (see hostSystemEntries). */
export type SystemEntry =
  | { kind: 'ro-bind'; src: string; dest: string }
  | { kind: 'symlink'; target: string; dest: string };

export interface Bind {
  src: string;
  dest: string;
  readOnly: boolean;
}

/** Absolute paths of the programs in the chain (so PATH plays no part). */
export interface SandboxTools {
  bash: string;
  prlimit: string;
  bwrap: string;
  setpriv: string;
  /** the relay to the API server inside a sandbox with a network of its own */
  socat?: string;
  /** enters the participant's network (participant-network.ts) */
  nsenter?: string;
}

export const DEFAULT_TOOLS: SandboxTools = {
  bash: '/bin/bash',
  prlimit: '/usr/bin/prlimit',
  bwrap: '/usr/bin/bwrap',
  setpriv: '/usr/bin/setpriv',
  socat: '/usr/bin/socat',
  nsenter: '/usr/bin/nsenter',
};

/**
 * Open files per process in the sandbox, soft and hard: a shell, kubectl and an editor need a
 * few dozen. The server raises its own soft limit to the hard one (Node does at start), and
 * without this every sandboxed process inherited that.
 */
export const SANDBOX_OPEN_FILES = 1024;

/** Variables that would point the participant at the host's Docker or the server's own state. */
export const UNSET_IN_SANDBOX = [
  'DOCKER_HOST',
  'DOCKER_CONFIG',
  'DOCKER_CERT_PATH',
  'DOCKER_CONTEXT',
];

export interface SandboxOptions {
  /** the session's home: bound read-write at the same path, and the working directory */
  home: string;
  /** the session's uid, also its gid */
  uid: number;
  /** cgroup.procs files to join before anything else runs (none: no cgroup) */
  cgroupProcs: readonly string[];
  /** the read-only system: what of /usr, /bin, /lib…, /etc appears, and how */
  system: readonly SystemEntry[];
  /** RLIMIT_NPROC for the session's uid (threads count too); 0: leave as is */
  maxProcesses: number;
  /** size of the private /tmp and /dev/shm each, in bytes; 0: the tmpfs default (half of RAM) */
  tmpSizeBytes?: number;
  /** more paths to show, e.g. a tools folder outside /usr, read-only */
  extraBinds?: readonly Bind[];
  hostname?: string;
  /** the participant's user name, in the generated /etc/passwd and USER */
  user?: string;
  tools?: SandboxTools;
  unsetEnv?: readonly string[];
  /** the seccomp filter's file (seccomp-filter.ts), read by root and handed to bwrap */
  seccompFile?: string;
  /**
   * A network of its own, whose only way out is this relay socket (api-relay.ts) to the API
   * server, shown inside at SANDBOX_API_SOCKET and listened for on 127.0.0.1:`port`
   * (SANDBOX_API_PORT unless given). With `network` (a path nsenter opens, see
   * participant-network.ts) the network is that one, shared with the participant's other
   * terminals; without, one for this shell alone.
   */
  apiRelay?: { socket: string; port?: number; network?: string };
}

/**
 * The script the first, root, step runs (with bash: sh cannot close descriptors above 9).
 * "$1" and "$2" are the passwd and group files' contents, "$3" the seccomp filter's file (or
 * empty), then come the cgroup.procs files up to "--", then the command. Nothing is interpolated into the script: every value travels as
 * an argument, so no quoting can go wrong.
 *
 * - Descriptors above 2 are closed: node-pty passes on whatever the server inherited without
 *   close-on-exec (a supervisor's pipe, a socket), and none of it belongs in the sandbox.
 * - The here-documents hand the passwd and group contents to bwrap on fds 3 and 4 (bwrap
 *   closes them once read), so the generated files exist only inside the sandbox, out of the
 *   participant's reach, and there is nothing to clean up.
 * - The seccomp filter is opened on fd 5 for bwrap's --seccomp (bwrap closes it once read).
 */
export const JOIN_AND_EXEC = `for fd in /proc/self/fd/*; do
  fd=\${fd##*/}
  if [ "$fd" -gt 2 ]; then { exec {fd}>&-; } 2>/dev/null; fi
done
passwd=$1 group=$2 seccomp=$3
shift 3
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  echo $$ > "$1" || { echo "kubenotes: cannot join the session's cgroup: $1" >&2; exit 126; }
  shift
done
shift
if [ -n "$seccomp" ]; then exec 5<"$seccomp"; fi
exec "$@" 3<<KUBENOTES_PASSWD 4<<KUBENOTES_GROUP
$passwd
KUBENOTES_PASSWD
$group
KUBENOTES_GROUP
`;

/**
 * The last step, as the participant, in a sandbox with a network of its own: starts the relay
 * to the API server ("$1" socat, "$2" the port, "$3" the socket), waits until it answers (so a
 * first kubectl does not find it missing; up to 5 s, as on a loaded machine socat once took
 * more than the 1 s allowed before), then execs the shell. The probe runs in a subshell:
 * in POSIX mode a failed `exec` redirection would end this shell. The relay stays a child of
 * the shell; it goes with the sandbox.
 *
 * The relay is started again whenever it ends (a participant who kills socat gets it back).
 * A task's check never runs in the shared network (isolation.ts, SandboxUse), so it never
 * holds a shell's port.
 */
export const RELAY_AND_EXEC = `socat=$1 port=$2 socket=$3
shift 3
while :; do
  "$socat" TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$socket"
  sleep 1
done </dev/null >/dev/null 2>&1 &
tries=0
until (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do
  tries=$((tries+1))
  if [ "$tries" -ge 500 ]; then echo "kubenotes: the relay to the cluster did not start" >&2; break; fi
  sleep 0.01
done
exec "$@"
`;

/** The argv that runs `inner` (e.g. bash --rcfile … -i) sandboxed as `options.uid`. */
export function sandboxedCommand(
  inner: { file: string; args: readonly string[] },
  options: SandboxOptions,
): { file: string; args: string[] } {
  const tools = options.tools ?? DEFAULT_TOOLS;
  const user = options.user ?? 'kubenotes';
  const { home, uid } = options;
  checkUid(uid);
  checkAbsolute('home', home);
  if (!/^[a-z_][a-z0-9_-]*$/.test(user)) throw new Error(`"${user}" is not a valid user name.`);
  for (const file of options.cgroupProcs) checkAbsolute('cgroup.procs file', file);
  if (options.seccompFile) checkAbsolute('seccomp filter', options.seccompFile);
  const network = options.apiRelay?.network;
  if (network !== undefined) checkAbsolute('network', network);
  const apiPort = options.apiRelay?.port ?? SANDBOX_API_PORT;
  if (!Number.isInteger(apiPort) || apiPort < 1 || apiPort > 65535) {
    throw new Error(`The sandbox's API port ${apiPort} is not a TCP port.`);
  }

  const bwrap: string[] = [
    // If the server dies, so does the sandbox (the kernel signals bwrap; its pid 1 goes, and
    // with it every process of the pid namespace).
    '--die-with-parent',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    // In the participant's network (entered before bwrap), or one of its own.
    ...(options.apiRelay && network === undefined ? ['--unshare-net'] : []),
    ...(options.seccompFile ? ['--seccomp', '5'] : []),
    '--hostname',
    options.hostname ?? 'kubenotes',
  ];
  for (const entry of options.system) {
    if (entry.kind === 'symlink') bwrap.push('--symlink', entry.target, entry.dest);
    else bwrap.push('--ro-bind', entry.src, entry.dest);
  }
  // Over the host's: the participant gets a name, and sees no list of the host's accounts.
  bwrap.push('--perms', '0644', '--ro-bind-data', '3', '/etc/passwd');
  bwrap.push('--perms', '0644', '--ro-bind-data', '4', '/etc/group');
  bwrap.push('--proc', '/proc', '--dev', '/dev');
  for (const dir of ['/tmp', '/dev/shm']) {
    if (options.tmpSizeBytes) bwrap.push('--size', String(options.tmpSizeBytes));
    bwrap.push('--perms', '1777', '--tmpfs', dir);
  }
  // After /tmp: a home under /tmp (the default state folder) lands on the private tmpfs.
  const binds: Bind[] = [{ src: home, dest: home, readOnly: false }, ...(options.extraBinds ?? [])];
  // Read-only is enough: connecting to a socket is not writing to its file system.
  if (options.apiRelay) {
    binds.push({ src: options.apiRelay.socket, dest: SANDBOX_API_SOCKET, readOnly: true });
  }
  // Folders already there: the sandbox's own, and those bound from the host (not ours to
  // change, and their content is the host's).
  const made = new Set(['/', '/tmp', '/dev', '/dev/shm', '/proc']);
  const hostDirs = options.system.map((entry) => entry.dest);
  for (const bind of binds) {
    checkAbsolute('bind source', bind.src);
    checkAbsolute('bind destination', bind.dest);
    // bwrap would make missing parent folders with the modes of the host's (the state folder
    // is 0700 root), and the participant could not reach their own home: make them 0755.
    // They exist only in the sandbox's tmpfs; the host's folders are not touched.
    for (const parent of ancestors(bind.dest)) {
      if (
        made.has(parent) ||
        hostDirs.some((dir) => parent === dir || parent.startsWith(`${dir}/`))
      ) {
        continue;
      }
      made.add(parent);
      bwrap.push('--perms', '0755', '--dir', parent);
    }
    bwrap.push(bind.readOnly ? '--ro-bind' : '--bind', bind.src, bind.dest);
    hostDirs.push(bind.dest);
  }
  // The root is a tmpfs bwrap made; once every mount point is in it, nothing more is written.
  bwrap.push('--remount-ro', '/');
  bwrap.push('--chdir', home, '--setenv', 'HOME', home, '--setenv', 'USER', user);
  bwrap.push('--setenv', 'LOGNAME', user);
  for (const name of options.unsetEnv ?? UNSET_IN_SANDBOX) bwrap.push('--unsetenv', name);

  const setpriv = [
    `--reuid=${uid}`,
    `--regid=${uid}`,
    '--clear-groups',
    '--no-new-privs',
    '--inh-caps=-all',
    '--bounding-set=-all',
  ];
  const prlimit = [
    ...(options.maxProcesses > 0 ? [`--nproc=${options.maxProcesses}`] : []),
    `--nofile=${SANDBOX_OPEN_FILES}:${SANDBOX_OPEN_FILES}`,
  ];

  return {
    file: tools.bash,
    args: [
      // POSIX mode: a non-interactive bash would otherwise source $BASH_ENV, as root.
      '--posix',
      '--norc',
      '--noprofile',
      '-c',
      JOIN_AND_EXEC,
      'kubenotes-sandbox', // $0: the name in sh's own error messages
      passwdFile(user, uid, home, inner.file),
      groupFile(user, uid),
      options.seccompFile ?? '',
      ...options.cgroupProcs,
      '--',
      ...(network !== undefined
        ? [tools.nsenter ?? DEFAULT_TOOLS.nsenter!, `--net=${network}`, '--']
        : []),
      tools.prlimit,
      ...prlimit,
      '--',
      tools.bwrap,
      ...bwrap,
      '--',
      tools.setpriv,
      ...setpriv,
      '--',
      ...(options.apiRelay
        ? [
            tools.bash,
            '--posix',
            '--norc',
            '--noprofile',
            '-c',
            RELAY_AND_EXEC,
            'kubenotes-relay',
            tools.socat ?? DEFAULT_TOOLS.socat!,
            String(apiPort),
            SANDBOX_API_SOCKET,
          ]
        : []),
      inner.file,
      ...inner.args,
    ],
  };
}

/** /etc/passwd for the sandbox: root, nobody, and the participant. */
export function passwdFile(user: string, uid: number, home: string, shell: string): string {
  // A passwd field cannot hold ':' or a newline; a home with them keeps a neutral entry.
  const field = (text: string, fallback: string) => (/[:\n]/.test(text) ? fallback : text);
  return [
    'root:x:0:0:root:/root:/usr/sbin/nologin',
    `${user}:x:${uid}:${uid}:workshop participant:${field(home, '/')}:${field(shell.startsWith('/') ? shell : '/bin/bash', '/bin/bash')}`,
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  ].join('\n');
}

export function groupFile(user: string, uid: number): string {
  return ['root:x:0:', `${user}:x:${uid}:`, 'nogroup:x:65534:'].join('\n');
}

/** "/a/b/c" → ["/a", "/a/b"]: the folders above a path, outermost first. */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

function checkUid(uid: number): void {
  if (!Number.isInteger(uid) || uid <= 0 || uid >= 2 ** 32 - 1) {
    throw new Error(`The sandbox uid ${uid} is not an unprivileged uid (1 to 4294967294).`);
  }
}

function checkAbsolute(what: string, path: string): void {
  if (!path.startsWith('/') || path.includes('\0')) {
    throw new Error(`The sandbox ${what} "${path}" must be an absolute path.`);
  }
}
