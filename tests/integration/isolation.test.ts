/**
 * Workshop shell isolation, with real processes: bash in a real pty (node-pty), started with
 * the argv the isolation module builds (cgroup join, prlimit, bubblewrap, setpriv), as the
 * server does it. Each test checks what a participant (or the next one) would notice.
 *
 * Needs root and bubblewrap; when bwrap is missing the suite tries `apt-get install -y
 * bubblewrap` first, and skips (saying why) only if that fails too.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as pty from 'node-pty';
import { ApiRelay, SANDBOX_API_PORT } from '../../sandbox-server/src/isolation/api-relay.ts';
import { SessionCgroup } from '../../sandbox-server/src/isolation/cgroup.ts';
import {
  mountHome,
  parseMountInfo,
  unmountUnder,
} from '../../sandbox-server/src/isolation/home-mount.ts';
import { checkSandboxHost, hostSystemEntries } from '../../sandbox-server/src/isolation/host.ts';
import {
  DEFAULT_ISOLATION,
  Isolation,
  type IsolationSettings,
  type SessionSandbox,
} from '../../sandbox-server/src/isolation/isolation.ts';
import { prepareSandboxHome } from '../../sandbox-server/src/isolation/sandbox-home.ts';
import { sandboxedCommand } from '../../sandbox-server/src/isolation/sandboxed-shell.ts';
import {
  killProcessesOfUid,
  processesOfUid,
} from '../../sandbox-server/src/isolation/uid-processes.ts';
import { prepareHome, shellEnvironment } from '../../sandbox-server/src/session/shell.ts';
import type { Logger } from '../../sandbox-server/src/telemetry/log.ts';

const SHELL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Test uids, far from the server's default range so a running server is not disturbed. */
const UID_BASE = 1_900_500_000;
let nextRange = UID_BASE;

const skipReason = prerequisites();

/** Why the suite cannot run here, or undefined. Installs bubblewrap when it can. */
function prerequisites(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'not root: the sandbox drops each shell to its own uid and joins cgroups, which needs root';
  }
  const hasBwrap = () => {
    try {
      execFileSync('bwrap', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (hasBwrap()) return undefined;
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'bubblewrap'], {
      stdio: 'ignore',
      timeout: 180_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (error) {
    return `bubblewrap (bwrap) is missing and "apt-get install -y bubblewrap" failed: ${(error as Error).message}`;
  }
  return hasBwrap() ? undefined : 'bubblewrap (bwrap) is missing and could not be installed';
}

const logs: string[] = [];
const log: Logger = {
  log: (level, event, fields) => logs.push(`${level} ${event} ${JSON.stringify(fields)}`),
};
const stateDirs: string[] = [];
const live = new Set<SandboxShell>();

after(async () => {
  for (const shell of live) await shell.close();
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

/** An Isolation with its own uid range (100 uids) and test-sized limits. */
function isolation(settings: Partial<IsolationSettings> = {}): Isolation {
  const first = nextRange;
  nextRange += 100;
  return Isolation.create(
    {
      uidFirst: first,
      uidLast: first + 99,
      cgroupParent: 'kubenotes-test',
      ...settings,
    },
    log,
    homesDir(),
  );
}

/** Where an Isolation checks that it can mount a home. */
function homesDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-isolation-homes-'));
  stateDirs.push(dir);
  return dir;
}

/** A state folder like the server's: root-only, with the server's secrets in it. */
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-isolation-'));
  stateDirs.push(dir);
  writeFileSync(join(dir, 'admin.kubeconfig'), 'apiVersion: v1\n# admin credentials\n', {
    mode: 0o600,
  });
  return dir;
}

/** A session's sandboxed bash in a real pty, as session.ts starts it. */
class SandboxShell {
  readonly sandbox: SessionSandbox;
  readonly home: string;
  readonly pty: pty.IPty;
  output = '';
  exited: Promise<number>;

  private constructor(sandbox: SessionSandbox, home: string, terminal: pty.IPty) {
    this.sandbox = sandbox;
    this.home = home;
    this.pty = terminal;
    terminal.onData((data) => {
      this.output += data;
    });
    this.exited = new Promise((resolve) => terminal.onExit(({ exitCode }) => resolve(exitCode)));
  }

  static async start(
    iso: Isolation,
    state: string,
    options: { env?: Record<string, string>; sandbox?: SessionSandbox } = {},
  ): Promise<SandboxShell> {
    const id = randomBytes(6).toString('hex');
    const home = options.sandbox?.home ?? join(state, 'sessions', id);
    // As the server does: the sandbox (which mounts the home) first, then the files in it.
    const sandbox = options.sandbox ?? (await iso.open(id, home));
    const rc = prepareHome(home, undefined);
    const command = sandbox.command({ file: 'bash', args: ['--rcfile', rc, '-i'] });
    const terminal = pty.spawn(command.file, command.args, {
      name: 'xterm-256color',
      cols: 120,
      rows: 40,
      cwd: home,
      env: shellEnvironment({
        command: 'bash',
        cols: 120,
        rows: 40,
        home,
        path: SHELL_PATH,
        env: options.env ?? {},
        passEnv: [],
        serverEnv: process.env,
      }),
    });
    const shell = new SandboxShell(sandbox, home, terminal);
    live.add(shell);
    // The prompt mark is the last thing in PS1: once it arrives, the prompt is all there.
    await shell.waitFor(/\$ \x1b\]133;A\x07/, 10_000);
    return shell;
  }

  /** Resolves with the output after `from` once it matches `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output.slice(from));
      if (match) return match;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${pattern}; output so far:\n${plain(this.output)}`);
      }
      await sleep(20);
    }
  }

  /**
   * Types a command line and waits for its end mark: its output (plain text, between the
   * rcfile's command-start and command-end marks, so no echo or prompt) and exit code.
   */
  async run(line: string, timeoutMs = 15_000): Promise<{ output: string; code: number }> {
    const from = this.output.length;
    this.pty.write(`${line}\r`);
    const [, output = '', code] = await this.waitFor(
      /\x1b\]133;C\x07([\s\S]*?)\x1b\]133;D;(-?\d+)\x07/,
      timeoutMs,
      from,
    );
    return { output: plain(output), code: Number(code) };
  }

  async close(): Promise<void> {
    live.delete(this);
    try {
      this.pty.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    await this.sandbox.dispose();
  }
}

/** Output without escape sequences and carriage returns. */
function plain(text: string): string {
  return text
    .replace(/\x1b\][^\x07]*\x07/g, '')
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\r/g, '');
}

test('the shell runs as the session uid: no other groups, no capabilities, no way back up', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation();
  const shell = await SandboxShell.start(iso, stateDir());
  try {
    assert.match(plain(shell.output), /kubenotes:~\$ $/m, 'the rcfile prompt is shown');
    assert.doesNotMatch(shell.output, /no job control/);
    const id = await shell.run('id -u; id -g; id -G; whoami');
    assert.deepEqual(id.output.trim().split('\n'), [
      String(shell.sandbox.uid),
      String(shell.sandbox.uid),
      String(shell.sandbox.uid),
      'kubenotes',
    ]);
    assert.ok(
      shell.sandbox.uid >= iso.settings.uidFirst && shell.sandbox.uid <= iso.settings.uidLast,
    );
    const status = await shell.run(
      "grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status",
    );
    assert.match(status.output, /CapEff:\s+0+\n/);
    assert.match(status.output, /CapPrm:\s+0+\n/);
    assert.match(status.output, /CapBnd:\s+0+\n/);
    assert.match(status.output, /NoNewPrivs:\s+1/);
    const su = await shell.run('su -c id root </dev/null');
    assert.notEqual(su.code, 0, `su must fail: ${su.output}`);
    const fds = await shell.run('ls /proc/$$/fd | sort -n | tr "\\n" " "');
    assert.equal(fds.output.trim(), '0 1 2 255', 'no descriptor of the server leaks in');
  } finally {
    await shell.close();
  }
});

test('no user namespaces in the sandbox: unshare -U -r fails, and what a shell needs still works', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const shell = await SandboxShell.start(isolation(), stateDir());
  try {
    // unshare -U -r gave CAP_SYS_ADMIN over new mount and network namespaces.
    const userns = await shell.run('unshare -U -r true 2>&1; echo "exit=$?"');
    assert.match(userns.output, /exit=[1-9]/, `unshare -U -r must fail: ${userns.output}`);
    assert.match(userns.output, /Operation not permitted/);
    const withNet = await shell.run('unshare -U -r -n -m true 2>&1; echo "exit=$?"');
    assert.match(withNet.output, /exit=[1-9]/);
    const join = await shell.run('nsenter -t 1 -U true 2>&1; echo "exit=$?"');
    assert.match(join.output, /exit=[1-9]/);
    // Threads (clone3 falls back to clone), pipes, subshells, job control still work.
    const works = await shell.run(
      'python3 -c \'import threading; t = threading.Thread(target=print, args=("thread-ok",)); t.start(); t.join()\' 2>&1 || echo no-python; echo a | (cat; echo sub-ok) & wait; echo done',
    );
    assert.match(works.output, /(thread-ok|no-python)\n[\s\S]*sub-ok[\s\S]*done/);
    const status = await shell.run("grep -E '^Seccomp:' /proc/self/status");
    assert.match(status.output, /Seccomp:\s+2/, 'a seccomp filter is on');
  } finally {
    await shell.close();
  }
});

test("other homes, the server's state and kubeconfig, /root, the repo and the Docker socket are out of sight", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation();
  const state = stateDir();
  // A stand-in for a Docker socket in the server's state folder: a live unix socket.
  const socketPath = join(state, 'docker.sock');
  const socketServer = createServer((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nleak'));
  await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
  const a = await SandboxShell.start(iso, state);
  const b = await SandboxShell.start(iso, state);
  try {
    assert.equal((await b.run('echo b-secret > ~/secret.txt')).code, 0);
    const other = await a.run(`cat ${join(b.home, 'secret.txt')}`);
    assert.notEqual(other.code, 0);
    assert.match(other.output, /No such file or directory|Permission denied/);
    assert.doesNotMatch(other.output, /b-secret/);

    const admin = await a.run(`cat ${join(state, 'admin.kubeconfig')}`);
    assert.notEqual(admin.code, 0);
    assert.match(admin.output, /No such file or directory|Permission denied/);
    const sessions = await a.run(`ls ${join(state, 'sessions')}`);
    assert.equal(sessions.output.trim(), a.home.split('/').pop(), 'only its own home is there');

    const sock = await a.run(
      `test -e /var/run/docker.sock || test -e /run/docker.sock || echo no-docker-socket; test -e ${socketPath} || echo no-stand-in`,
    );
    assert.match(sock.output, /no-docker-socket/);
    assert.match(sock.output, /no-stand-in/);
    for (const dir of ['/root', '/work', '/run', '/var', '/home', process.cwd()]) {
      const listing = await a.run(`ls -A ${dir} 2>&1 | head -3`);
      assert.match(listing.output, /No such file or directory/, `${dir} must not exist inside`);
    }
    const env = await a.run('env | grep -E "^DOCKER_" || echo none');
    assert.equal(env.output.trim(), 'none');
  } finally {
    await a.close();
    await b.close();
    socketServer.close();
  }
});

test("the session's own kubeconfig, written by the server, comes with its home", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation();
  const state = stateDir();
  const home = join(state, 'sessions', 'with-kubeconfig');
  const sandbox = await iso.open('with-kubeconfig', home);
  mkdirSync(join(home, '.kube'), { recursive: true, mode: 0o700 });
  const kubeconfig = join(home, '.kube', 'config');
  writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n# session credentials\n', {
    mode: 0o600,
  });
  const shell = await SandboxShell.start(iso, state, { sandbox, env: { KUBECONFIG: kubeconfig } });
  try {
    const read = await shell.run('cat "$KUBECONFIG"');
    assert.equal(read.code, 0, read.output);
    assert.match(read.output, /session credentials/);
    const write = await shell.run('echo edited >> "$KUBECONFIG" && touch ~/new-file && echo ok');
    assert.match(write.output, /ok/);
  } finally {
    await shell.close();
  }
});

test("/proc shows the sandbox's own processes only; the server's are invisible", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const shell = await SandboxShell.start(isolation(), stateDir());
  try {
    const pids = await shell.run("ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '");
    const list = pids.output.trim().split(/\s+/).map(Number);
    assert.ok(list.length <= 6, `only a handful of processes: ${JSON.stringify(pids.output)}`);
    const names = await shell.run('cat /proc/[0-9]*/comm | sort -u | tr "\\n" " "');
    assert.doesNotMatch(
      names.output,
      /\bnode\b/,
      `the server (node) must not be listed: ${names.output}`,
    );
    assert.match(names.output, /\bbash\b/);
    const ps = await shell.run(`kill -0 ${process.pid} 2>&1 || echo cannot-signal`);
    assert.match(ps.output, /cannot-signal/);
  } finally {
    await shell.close();
  }
});

test('the system is read-only, and /tmp is private to each session', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation();
  const state = stateDir();
  const a = await SandboxShell.start(iso, state);
  const b = await SandboxShell.start(iso, state);
  const marker = `kubenotes-private-${randomBytes(4).toString('hex')}`;
  try {
    for (const path of ['/usr/bin/x', '/etc/x', '/x', '/bin/x']) {
      const write = await a.run(`touch ${path}`);
      assert.notEqual(write.code, 0, `${path} must not be writable`);
      assert.match(write.output, /Read-only file system|Permission denied/);
    }
    assert.equal((await a.run(`echo secret > /tmp/${marker} && cat /tmp/${marker}`)).code, 0);
    const seen = await b.run(`cat /tmp/${marker}`);
    assert.notEqual(seen.code, 0);
    assert.match(seen.output, /No such file or directory/);
    assert.equal(existsSync(join('/tmp', marker)), false, "not in the host's /tmp either");
    assert.equal((await a.run('echo x > /dev/shm/x && cat /dev/shm/x')).code, 0, '/dev/shm works');
  } finally {
    await a.close();
    await b.close();
  }
});

/** The mount at `path`, as /proc/self/mountinfo shows it, if any. */
function mountAt(path: string) {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).find(
    (entry) => entry.mountPoint === path,
  );
}

test("a home fills at its size, not the server's disk; its mount goes with the session", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation({ homeSizeBytes: 8 * 1024 * 1024 });
  const state = stateDir();
  const a = await SandboxShell.start(iso, state);
  const b = await SandboxShell.start(iso, state);
  try {
    assert.equal(mountAt(a.home)?.fsType, 'tmpfs', 'the home is a tmpfs of its own');
    const fill = await a.run('head -c 16M /dev/zero > ~/fill; echo "exit $?"; du -k ~/fill');
    assert.match(fill.output, /No space left on device/);
    assert.match(fill.output, /exit 1/);
    const kept = Number(/^(\d+)\s/m.exec(fill.output)?.[1]);
    assert.ok(kept <= 8 * 1024, `at most the home's 8 MiB were written (${kept} KiB)`);
    // The home is full for A only: B writes, and the rcfile and what A had stay readable.
    assert.equal((await b.run('head -c 1M /dev/zero > ~/one && echo written')).code, 0);
    assert.equal((await a.run('cat ~/.kubenotes-rc > /dev/null && rm ~/fill && echo ok')).code, 0);
  } finally {
    await a.close();
    await b.close();
  }
  assert.equal(mountAt(a.home), undefined, "A's home is unmounted once its session is disposed");
  assert.equal(mountAt(b.home), undefined);
});

test("a network of its own: the host's loopback is out of reach, the API server is through the relay, localhost inside works", async (t) => {
  if (skipReason) return t.skip(skipReason);
  // A stand-in API server (the relay passes bytes, whatever they are) and a host-only service.
  const api = createServer((socket) => socket.end('api-server-answers\n'));
  const hostOnly = createServer((socket) => socket.end('host-only-service\n'));
  for (const server of [api, hostOnly]) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  const port = (server: typeof api) => (server.address() as { port: number }).port;
  const state = stateDir();
  const relay = await ApiRelay.start(state, `https://127.0.0.1:${port(api)}`, log);
  const iso = isolation({ apiRelay: relay });
  const shell = await SandboxShell.start(iso, state);
  try {
    const viaRelay = await shell.run(`timeout 3 cat < /dev/tcp/127.0.0.1/${SANDBOX_API_PORT}`);
    assert.match(viaRelay.output, /api-server-answers/);
    const direct = await shell.run(`timeout 3 cat < /dev/tcp/127.0.0.1/${port(hostOnly)} 2>&1`);
    assert.doesNotMatch(direct.output, /host-only-service/);
    assert.match(direct.output, /Connection refused/);
    const outside = await shell.run('timeout 3 cat < /dev/tcp/169.254.169.254/80 2>&1');
    assert.match(outside.output, /Network is unreachable/);
    // What a port-forward does: listen on localhost, and be reached from the same shell.
    const inside = await shell.run(
      "(socat TCP-LISTEN:8080,bind=127.0.0.1,reuseaddr SYSTEM:'echo served-inside' &); sleep 0.3; timeout 3 cat < /dev/tcp/127.0.0.1/8080",
    );
    assert.match(inside.output, /served-inside/);
  } finally {
    await shell.close();
    await relay.dispose();
    for (const server of [api, hostOnly]) server.close();
  }
});

/** The network namespaces this process holds open (a participant's, by descriptor). */
function heldNetworks(): number {
  let held = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('net:[')) held++;
    } catch {
      // Closed meanwhile.
    }
  }
  return held;
}

test("a participant's terminals share one localhost, no one else's, and it outlives Terminal 1", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const api = createServer((socket) => socket.end('api-server-answers\n'));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const state = stateDir();
  const relay = await ApiRelay.start(
    state,
    `https://127.0.0.1:${(api.address() as { port: number }).port}`,
    log,
  );
  const iso = isolation({ apiRelay: relay });
  const heldBefore = heldNetworks();
  const one = await SandboxShell.start(iso, state);
  const id = randomBytes(6).toString('hex');
  const joined = await iso.open(id, join(state, 'sessions', id), one.sandbox.sessionId);
  const two = await SandboxShell.start(iso, state, { sandbox: joined });
  const stranger = await SandboxShell.start(iso, state);
  try {
    const network = async (shell: SandboxShell) =>
      (await shell.run('readlink /proc/self/ns/net')).output.trim();
    assert.match(await network(one), /^net:\[\d+\]$/);
    assert.equal(await network(two), await network(one), 'one network for both terminals');
    assert.notEqual(await network(stranger), await network(one));
    assert.notEqual(await network(one), readlinkSync('/proc/self/ns/net'), "not the host's");
    assert.equal(joined.apiPort, SANDBOX_API_PORT + 1, "Terminal 2's relay has a port of its own");

    const listening = await one.run(
      "socat TCP-LISTEN:8088,bind=127.0.0.1,fork,reuseaddr SYSTEM:'echo from-terminal-one' & " +
        'until (exec 3<>/dev/tcp/127.0.0.1/8088) 2>/dev/null; do sleep 0.05; done',
    );
    assert.equal(listening.code, 0, listening.output);
    assert.match(
      (await two.run('timeout 3 cat < /dev/tcp/127.0.0.1/8088')).output,
      /from-terminal-one/,
    );
    const refused = await stranger.run('timeout 3 cat < /dev/tcp/127.0.0.1/8088 2>&1');
    assert.match(refused.output, /Connection refused/);
    for (const [shell, port] of [
      [one, SANDBOX_API_PORT],
      [two, SANDBOX_API_PORT + 1],
    ] as const) {
      const viaRelay = await shell.run(`timeout 3 cat < /dev/tcp/127.0.0.1/${port}`);
      assert.match(viaRelay.output, /api-server-answers/);
    }

    // Terminal 1 ends: its processes go, the network and Terminal 2's relay stay.
    const before = await network(two);
    await one.close();
    assert.equal(await network(two), before);
    assert.match(
      (await two.run('timeout 3 cat < /dev/tcp/127.0.0.1/8088 2>&1')).output,
      /Connection refused/,
    );
    const still = await two.run(`timeout 3 cat < /dev/tcp/127.0.0.1/${SANDBOX_API_PORT + 1}`);
    assert.match(still.output, /api-server-answers/);
    // The relay comes back when it ends (a task's check may have held its port for a moment).
    const killed = await two.run('pkill -x socat; sleep 0.2; echo gone');
    assert.match(killed.output, /gone/);
    const back = await two.run(
      `for i in $(seq 50); do timeout 1 cat < /dev/tcp/127.0.0.1/${SANDBOX_API_PORT + 1} 2>/dev/null && break; sleep 0.1; done`,
    );
    assert.match(back.output, /api-server-answers/);
  } finally {
    await one.close();
    await two.close();
    await stranger.close();
    await relay.dispose();
    api.close();
  }
  assert.equal(
    heldNetworks(),
    heldBefore,
    "the participants' networks are let go with their last terminal",
  );
});

test("a participant's processes get a small open-file limit they cannot raise, and the relay caps their connections", async (t) => {
  if (skipReason) return t.skip(skipReason);
  // The server's own soft limit is its hard one (Node raises it at start): without a limit of
  // their own, sandboxed processes could hold that many descriptors each.
  const api = createServer((socket) => socket.on('data', () => {}));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const held = new Set<unknown>();
  api.on('connection', (socket) => {
    held.add(socket);
    socket.on('close', () => held.delete(socket));
  });
  const state = stateDir();
  const relay = await ApiRelay.start(
    state,
    `https://127.0.0.1:${(api.address() as { port: number }).port}`,
    log,
    undefined,
    5,
  );
  const shell = await SandboxShell.start(isolation({ apiRelay: relay }), state);
  try {
    const limits = await shell.run('ulimit -Sn; ulimit -Hn; ulimit -n 4096 2>&1; echo "raise=$?"');
    assert.deepEqual(limits.output.trim().split('\n').slice(0, 2), ['1024', '1024']);
    assert.match(limits.output, /raise=1/, 'the hard limit cannot be raised');
    // 30 connections held open straight to the session's entrance (socat would fork one each).
    const flood = await shell.run(
      `for i in $(seq 30); do (exec 3<>/dev/tcp/127.0.0.1/${SANDBOX_API_PORT}; sleep 5) & done; sleep 1.5; echo done`,
    );
    assert.match(flood.output, /done/);
    assert.equal(held.size, 5, "the API server holds the session's cap of relayed connections");
  } finally {
    await shell.close();
    await relay.dispose();
    api.close();
  }
});

test('a sandbox that fails to open leaves no home folder and no mount', async (t) => {
  if (skipReason) return t.skip(skipReason);
  // The relay refusing the session's entrance (as when the server is out of descriptors).
  const iso = isolation({
    apiRelay: {
      open: () => Promise.reject(Object.assign(new Error('EMFILE'), { code: 'EMFILE' })),
    },
  });
  const state = stateDir();
  const home = join(state, 'sessions', 'never-started');
  await assert.rejects(iso.open('never-started', home), /EMFILE/);
  assert.equal(existsSync(home), false, 'the home folder is gone');
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(home), 'and so is its mount');
});

test('homes a dead server left mounted are unmounted when the next one starts; a live one keeps its own', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const dead = mkdtempSync(join(tmpdir(), 'kubenotes-dead-home-'));
  const alive = mkdtempSync(join(tmpdir(), 'kubenotes-live-home-'));
  stateDirs.push(dead, alive);
  // The source names the server that mounted it: a pid that cannot exist, and this process.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'kubenotes-home@999999999:1', dead]);
  await mountHome(alive, 64 * 1024);
  try {
    isolation();
    assert.equal(mountAt(dead), undefined, "the dead server's home is unmounted");
    assert.equal(mountAt(alive)?.fsType, 'tmpfs', "a live server's home is left alone");
    assert.ok(logs.some((line) => line.includes('stale_homes_unmounted') && line.includes(dead)));
  } finally {
    await unmountUnder(dead);
    await unmountUnder(alive);
  }
});

/**
 * Starts `count` background sleeps from sh, which (unlike bash) gives up at the first failed
 * fork. Once the limit is reached the session cannot fork at all, so we count from outside.
 */
const FORK_BOMB = (count: number) =>
  `sh -c 'i=0; while [ $i -lt ${count} ]; do sleep 60 & i=$((i+1)); done' 2>&1; echo bomb-done`;

test("a fork bomb hits its own session's pids limit; other sessions, and new ones, still work", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation({ pids: 40 });
  const state = stateDir();
  const a = await SandboxShell.start(iso, state);
  const b = await SandboxShell.start(iso, state);
  try {
    if (!a.sandbox.cgroup?.limited.includes('pids')) {
      t.diagnostic(
        `no pids cgroup here (${logs.filter((l) => l.includes('cgroup')).join('; ')}): RLIMIT_NPROC alone bounds it`,
      );
    }
    const bomb = await a.run(FORK_BOMB(200));
    assert.match(bomb.output, /Cannot fork/, bomb.output);
    const forks = processesOfUid(a.sandbox.uid).length;
    assert.ok(
      forks > 30 && forks <= 40,
      `session A is held at its limit of 40: ${forks} processes`,
    );
    const pidsDir = a.sandbox.cgroup?.dirs.find((dir) => existsSync(join(dir, 'pids.events')));
    if (pidsDir) {
      // The cgroup (40 tasks, the sandbox's two root processes included) stopped it before
      // RLIMIT_NPROC (40 processes of the uid) could.
      const events = readFileSync(join(pidsDir, 'pids.events'), 'utf8');
      assert.match(events, /^max [1-9]/m, `the pids limit was hit: ${events}`);
    }
    const other = await b.run(
      'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done; jobs | wc -l; echo fine',
    );
    assert.match(other.output, /^10$/m, 'session B starts its own processes');
    assert.match(other.output, /fine/);
    const c = await SandboxShell.start(iso, state);
    try {
      assert.equal(
        (await c.run('id -u')).output.trim(),
        String(c.sandbox.uid),
        'a new session starts',
      );
    } finally {
      await c.close();
    }
  } finally {
    await a.close();
    await b.close();
  }
});

test('without any cgroup, per-session uids and RLIMIT_NPROC still keep a fork bomb to its session', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const tools = checkSandboxHost();
  const system = hostSystemEntries();
  const state = stateDir();
  const terminals: pty.IPty[] = [];
  /** Runs the fork bomb as `uid`, and keeps its processes alive; resolves with the output. */
  const bombAs = async (uid: number, name: string): Promise<string> => {
    const home = join(state, 'sessions', name);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    prepareSandboxHome(home, uid);
    const command = sandboxedCommand(
      { file: '/bin/sh', args: ['-c', `${FORK_BOMB(100)}; exec sleep 60`] },
      { home, uid, cgroupProcs: [], system, maxProcesses: 30, tools },
    );
    let output = '';
    const terminal = pty.spawn(command.file, command.args, {
      cwd: home,
      env: { PATH: SHELL_PATH },
    });
    terminals.push(terminal);
    terminal.onData((data) => {
      output += data;
    });
    const deadline = Date.now() + 15_000;
    while (!output.includes('bomb-done') && Date.now() < deadline) await sleep(20);
    return plain(output);
  };
  const uidA = nextRange;
  const uidB = nextRange + 1;
  nextRange += 100;
  try {
    const a = await bombAs(uidA, 'nproc-a');
    assert.match(a, /Cannot fork/, a);
    const forksA = processesOfUid(uidA).length;
    assert.ok(forksA > 20 && forksA <= 30, `uid A stops at its RLIMIT_NPROC of 30: ${forksA}`);
    // Same limit, but its own uid: A's processes (still running) do not count against B.
    const b = await bombAs(uidB, 'nproc-b');
    assert.match(b, /Cannot fork/, b);
    const forksB = processesOfUid(uidB).length;
    assert.ok(forksB > 20 && forksB <= 30, `uid B gets its own 30 while A is full: ${forksB}`);
    assert.equal(processesOfUid(uidA).length, forksA, "A's processes are still running");
  } finally {
    for (const terminal of terminals) terminal.kill('SIGKILL');
    assert.deepEqual(await killProcessesOfUid(uidA), []);
    assert.deepEqual(await killProcessesOfUid(uidB), []);
  }
});

test('the memory limit kills a memory hog, not the shell', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation({ memoryBytes: 64 * 1024 * 1024 });
  const shell = await SandboxShell.start(iso, stateDir());
  try {
    if (!shell.sandbox.cgroup?.limited.includes('memory')) {
      return t.skip(
        `no memory cgroup on this machine: ${logs.filter((l) => l.includes('cgroup')).join('; ')}`,
      );
    }
    // tail keeps everything after the last newline: with no newline in /dev/zero, all of it.
    const hog = await shell.run(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's, not a template's
      'head -c 1G /dev/zero | tail > /dev/null; echo "status=${PIPESTATUS[1]}"',
      30_000,
    );
    assert.match(hog.output, /status=137/, `tail is killed (SIGKILL): ${hog.output}`);
    assert.equal((await shell.run('echo still-here')).output.trim(), 'still-here');
  } finally {
    await shell.close();
  }
});

test('the CPU limit holds a busy loop to its share', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation({ cpuPercent: 20 });
  const shell = await SandboxShell.start(iso, stateDir());
  try {
    if (!shell.sandbox.cgroup?.limited.includes('cpu')) {
      return t.skip(
        `no cpu cgroup on this machine: ${logs.filter((l) => l.includes('cgroup')).join('; ')}`,
      );
    }
    const busy = await shell.run(
      "TIMEFORMAT='cpu=%U+%S'; time timeout 2 sh -c 'while :; do :; done'",
      15_000,
    );
    const [, user, system] = /cpu=([\d.]+)\+([\d.]+)/.exec(busy.output) ?? [];
    const cpu = Number(user) + Number(system);
    assert.ok(cpu > 0.1 && cpu < 0.8, `2 s of busy loop get about 0.4 s of CPU at 20%: ${cpu}`);
  } finally {
    await shell.close();
  }
});

test('the pty is the controlling terminal: Ctrl-C and Ctrl-Z work on foreground jobs', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const shell = await SandboxShell.start(isolation(), stateDir());
  try {
    const started = Date.now();
    let from = shell.output.length;
    shell.pty.write('sleep 100\r');
    await sleep(300);
    shell.pty.write('\x03');
    const interrupted = await shell.waitFor(/\x1b\]133;D;(\d+)\x07/, 5000, from);
    assert.equal(interrupted[1], '130', 'sleep ended by SIGINT');
    assert.ok(Date.now() - started < 4000);

    from = shell.output.length;
    shell.pty.write('sleep 100\r');
    await sleep(300);
    shell.pty.write('\x1a');
    await shell.waitFor(/Stopped/, 5000, from);
    const jobs = await shell.run('jobs; kill %1; wait');
    assert.match(jobs.output, /Stopped\s+sleep 100/);
  } finally {
    await shell.close();
  }
});

test('after dispose no process of the session is left, even detached ones, and its cgroup is gone', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation();
  const state = stateDir();
  const shell = await SandboxShell.start(iso, state);
  const { uid, cgroup } = shell.sandbox;
  await shell.run('setsid sleep 1000 & nohup sleep 1001 >/dev/null 2>&1 & (sleep 1002 &) ; true');
  await sleep(200);
  assert.ok(processesOfUid(uid).length >= 4, 'the shell and its sleeps run as the uid');
  await shell.close();
  assert.deepEqual(processesOfUid(uid), []);
  for (const dir of cgroup?.dirs ?? []) assert.equal(existsSync(dir), false, `${dir} removed`);
  assert.ok((await shell.exited) !== undefined, 'the pty has ended');

  // The uid goes back to the pool, behind the never-used ones.
  const next = await SandboxShell.start(iso, state);
  try {
    assert.notEqual(next.sandbox.uid, uid);
  } finally {
    await next.close();
  }
});

test('a shell that exits is started again in the same sandbox, with the same uid', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation();
  const state = stateDir();
  const first = await SandboxShell.start(iso, state);
  first.pty.write('echo kept > ~/note; exit\r');
  await first.exited;
  live.delete(first);
  const again = await SandboxShell.start(iso, state, { sandbox: first.sandbox });
  try {
    assert.equal(
      (await again.run('cat ~/note; id -u')).output.trim(),
      `kept\n${first.sandbox.uid}`,
    );
  } finally {
    await again.close();
  }
});

test('live sessions never share a uid', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const iso = isolation({ uidFirst: nextRange, uidLast: nextRange + 2 });
  const state = stateDir();
  const shells = [
    await SandboxShell.start(iso, state),
    await SandboxShell.start(iso, state),
    await SandboxShell.start(iso, state),
  ];
  try {
    const uids = await Promise.all(shells.map(async (s) => (await s.run('id -u')).output.trim()));
    assert.equal(new Set(uids).size, 3, `three sessions, three uids: ${uids.join(' ')}`);
    await assert.rejects(
      () => iso.open('one-too-many', join(state, 'sessions', 'x')),
      /All 3 sandbox uids/,
    );
  } finally {
    for (const shell of shells) await shell.close();
  }
});

test('DEFAULT_ISOLATION: a uid range wide enough for the default session count', () => {
  assert.ok(DEFAULT_ISOLATION.uidLast - DEFAULT_ISOLATION.uidFirst + 1 >= 20);
});

test('a read-only cgroup tree: no cgroup, a reason worth logging, and the shell still runs', async (t) => {
  if (skipReason) return t.skip(skipReason);
  // In a private mount namespace (unshare -m), every cgroup mount is made read-only, as in a
  // container without cgroup delegation; the host's mounts are not touched.
  const module = (name: string) =>
    JSON.stringify(new URL(`../../sandbox-server/src/isolation/${name}`, import.meta.url).pathname);
  const first = nextRange;
  nextRange += 100;
  const script = `
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Isolation } from ${module('isolation.ts')};
const logs = [];
const homes = mkdtempSync('/tmp/kubenotes-isolation-ro-homes-');
const iso = Isolation.create(
  { uidFirst: ${first}, uidLast: ${first + 9}, cgroupParent: 'kubenotes-test' },
  { log: (level, event, fields) => logs.push({ level, event, ...fields }) },
  homes,
);
const home = mkdtempSync('/tmp/kubenotes-isolation-ro-');
const sandbox = await iso.open('read-only', home);
const command = sandbox.command({ file: '/bin/sh', args: ['-c', 'id -u'] });
const shell = spawnSync(command.file, command.args, { encoding: 'utf8', cwd: home });
await sandbox.dispose();
rmSync(home, { recursive: true, force: true });
rmSync(homes, { recursive: true, force: true });
console.log(JSON.stringify({ logs, stdout: shell.stdout, stderr: shell.stderr, uid: sandbox.uid, cgroup: sandbox.cgroup ?? null }));
`;
  const output = execFileSync(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'for m in $(awk \'$9 ~ /^cgroup2?$/ {print $5}\' /proc/self/mountinfo); do mount -o remount,bind,ro "$m" || exit 1; done; exec "$0" --input-type=module -e "$1"',
      process.execPath,
      script,
    ],
    { encoding: 'utf8' },
  );
  const result = JSON.parse(output) as {
    logs: { level: string; event: string; reason?: string }[];
    stdout: string;
    stderr: string;
    uid: number;
    cgroup: unknown;
  };
  assert.equal(result.cgroup, null);
  const warning = result.logs.find((l) => l.event === 'sandbox_cgroup_unavailable');
  assert.equal(warning?.level, 'warn');
  assert.match(
    warning?.reason ?? '',
    /^no per-session cgroup: .*mkdir .*EROFS \(read-only file system\)/,
  );
  t.diagnostic(warning?.reason ?? '');
  assert.equal(result.stdout.trim(), String(result.uid), `the shell ran: ${result.stderr}`);
});

test('a cgroup left behind by a server that died is emptied and reused', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const name = `stale-${randomBytes(4).toString('hex')}`;
  const limits = { pids: 10, memoryBytes: 32 * 1024 * 1024, cpuPercent: 0 };
  const first = SessionCgroup.create(name, limits, { parent: 'kubenotes-test' });
  if ('unavailable' in first) return t.skip(`no cgroup on this machine: ${first.unavailable}`);
  // A process left in it, as after a crash (no dispose).
  const orphan = spawn(
    '/bin/sh',
    ['-c', 'for f; do echo $$ > "$f"; done; exec sleep 600', 'orphan', ...first.procsFiles],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => orphan.on('exit', resolve));
  await sleep(200);
  assert.ok(first.pids().includes(orphan.pid ?? -1));

  const again = SessionCgroup.create(
    name,
    { ...limits, memoryBytes: 64 * 1024 * 1024 },
    {
      parent: 'kubenotes-test',
    },
  );
  assert.ok(!('unavailable' in again), 'the group is taken over');
  await exited;
  assert.deepEqual(again.pids(), [], 'what was left in it is killed');
  const memory = again.dirs.find((dir) => existsSync(join(dir, 'memory.limit_in_bytes')));
  if (memory) {
    assert.equal(readFileSync(join(memory, 'memory.limit_in_bytes'), 'utf8').trim(), '67108864');
  }
  await again.dispose();
  for (const dir of again.dirs) assert.equal(existsSync(dir), false);
});
