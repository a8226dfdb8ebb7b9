/**
 * The sandbox argv, without root: the chain's order and flags, and the first (bash) step run
 * for real with a stand-in for prlimit that records what it was given.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  DEFAULT_TOOLS,
  type SandboxOptions,
  sandboxedCommand,
} from '../../../sandbox-server/src/isolation/sandboxed-shell.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubenotes-sandbox-argv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base: SandboxOptions = {
  home: '/var/lib/kubenotes/sessions/abc',
  uid: 1_900_000_007,
  cgroupProcs: ['/sys/fs/cgroup/pids/kubenotes/s/cgroup.procs'],
  system: [
    { kind: 'ro-bind', src: '/usr', dest: '/usr' },
    { kind: 'symlink', target: 'usr/bin', dest: '/bin' },
    { kind: 'ro-bind', src: '/etc', dest: '/etc' },
  ],
  maxProcesses: 256,
};

/** The arguments after `marker` up to the next '--'. */
function segment(args: string[], marker: string): string[] {
  const start = args.indexOf(marker) + 1;
  const end = args.indexOf('--', start);
  return args.slice(start, end < 0 ? undefined : end);
}

test('the chain: bash joins the cgroups, then prlimit, bwrap, setpriv, the shell', () => {
  const { file, args } = sandboxedCommand({ file: 'bash', args: ['--rcfile', '/r c', '-i'] }, base);
  assert.equal(file, '/bin/bash');
  assert.deepEqual(args.slice(0, 4), ['--posix', '--norc', '--noprofile', '-c']);
  const programs = args.filter((a) => Object.values(DEFAULT_TOOLS).includes(a));
  assert.deepEqual(programs, ['/usr/bin/prlimit', '/usr/bin/bwrap', '/usr/bin/setpriv']);
  assert.deepEqual(segment(args, '/usr/bin/prlimit'), ['--nproc=256', '--nofile=1024:1024']);
  assert.deepEqual(segment(args, '/usr/bin/setpriv'), [
    '--reuid=1900000007',
    '--regid=1900000007',
    '--clear-groups',
    '--no-new-privs',
    '--inh-caps=-all',
    '--bounding-set=-all',
  ]);
  assert.deepEqual(args.slice(-4), ['bash', '--rcfile', '/r c', '-i']);
});

test('bwrap: namespaces, a read-only system, fresh /proc and /dev, private /tmp, the home alone', () => {
  const bwrap = segment(sandboxedCommand({ file: 'bash', args: [] }, base).args, '/usr/bin/bwrap');
  const text = bwrap.join(' ');
  for (const flag of [
    '--die-with-parent',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
  ]) {
    assert.ok(bwrap.includes(flag), flag);
  }
  assert.ok(!bwrap.includes('--new-session'), 'it would take away the controlling terminal');
  assert.ok(!bwrap.includes('--unshare-user'), 'a user namespace would map the sandbox to root');
  assert.match(text, /--ro-bind \/usr \/usr --symlink usr\/bin \/bin --ro-bind \/etc \/etc/);
  assert.match(
    text,
    /--perms 0644 --ro-bind-data 3 \/etc\/passwd --perms 0644 --ro-bind-data 4 \/etc\/group/,
  );
  assert.match(text, /--proc \/proc --dev \/dev/);
  assert.match(text, /--perms 1777 --tmpfs \/tmp/);
  // The home's parents are made 0755 in the sandbox's root, then the home is bound.
  assert.match(
    text,
    /--perms 0755 --dir \/var --perms 0755 --dir \/var\/lib --perms 0755 --dir \/var\/lib\/kubenotes --perms 0755 --dir \/var\/lib\/kubenotes\/sessions --bind \/var\/lib\/kubenotes\/sessions\/abc \/var\/lib\/kubenotes\/sessions\/abc/,
  );
  assert.match(text, /--remount-ro \/ --chdir \/var\/lib\/kubenotes\/sessions\/abc/);
  assert.match(text, /--unsetenv DOCKER_HOST/);
  for (const arg of bwrap) {
    assert.doesNotMatch(
      arg,
      /^\/(root|run|var\/run|work|home)(\/|$)|docker\.sock/,
      `${arg} is not shown`,
    );
  }
});

test('a home under /tmp lands on the private tmpfs; parents inside host binds are left alone', () => {
  const bwrap = segment(
    sandboxedCommand(
      { file: 'bash', args: [] },
      {
        ...base,
        home: '/tmp/kubenotes-1/sessions/x',
        extraBinds: [{ src: '/opt/tools', dest: '/usr/local/tools', readOnly: true }],
      },
    ).args,
    '/usr/bin/bwrap',
  ).join(' ');
  assert.match(
    bwrap,
    /--perms 1777 --tmpfs \/tmp .*--perms 0755 --dir \/tmp\/kubenotes-1 --perms 0755 --dir \/tmp\/kubenotes-1\/sessions --bind/,
  );
  assert.doesNotMatch(bwrap, /--dir \/usr/);
  assert.match(bwrap, /--ro-bind \/opt\/tools \/usr\/local\/tools/);
});

test('refuses what cannot be right: root or odd uids, relative paths, odd user names', () => {
  const inner = { file: 'bash', args: [] };
  assert.throws(() => sandboxedCommand(inner, { ...base, uid: 0 }), /not an unprivileged uid/);
  assert.throws(
    () => sandboxedCommand(inner, { ...base, uid: 2 ** 32 - 1 }),
    /not an unprivileged uid/,
  );
  assert.throws(() => sandboxedCommand(inner, { ...base, home: 'rel/home' }), /absolute/);
  assert.throws(() => sandboxedCommand(inner, { ...base, user: 'x:y' }), /not a valid user name/);
});

test('the bash step: closes inherited descriptors, joins each cgroup, passes every argument intact', () => {
  // A stand-in for prlimit: records its argv (NUL-separated), fds 3 and 4, and its open fds.
  const record = join(dir, 'record');
  const fake = join(dir, 'fake-prlimit');
  writeFileSync(
    fake,
    `#!/bin/bash --posix\nprintf '%s\\0' "$@" > ${record}.argv\ncat <&3 > ${record}.passwd\ncat <&4 > ${record}.group\nexec 3<&- 4<&-\nls /proc/$$/fd > ${record}.fds\necho $$ > ${record}.pid\n`,
  );
  chmodSync(fake, 0o755);
  const procs = [join(dir, 'pids.procs'), join(dir, 'memory.procs')];
  for (const file of procs) writeFileSync(file, '');
  const home = `/tmp/it's a "home" $HOME \`id\` \\n`;
  const { file, args } = sandboxedCommand(
    { file: 'bash', args: ['-c', 'echo "$1"', 'x', 'a\'b"c$d'] },
    { ...base, home, cgroupProcs: procs, tools: { ...DEFAULT_TOOLS, prlimit: fake } },
  );
  // Descriptor 12 stands for one the server inherited without close-on-exec.
  const stdio = ['ignore', 'pipe', 'pipe', ...Array(9).fill('ignore'), 'pipe'] as const;
  // BASH_ENV would be sourced by a non-interactive bash, as root, before the script.
  const bashEnv = join(dir, 'bash-env');
  writeFileSync(bashEnv, `echo sourced > ${record}.bash-env\n`);
  const result = spawnSync(file, args, {
    stdio: [...stdio],
    encoding: 'utf8',
    env: { ...process.env, BASH_ENV: bashEnv },
  });
  assert.equal(result.status, 0, result.stderr);

  const pid = readFileSync(`${record}.pid`, 'utf8').trim();
  for (const procsFile of procs) assert.equal(readFileSync(procsFile, 'utf8').trim(), pid);
  const argv = readFileSync(`${record}.argv`, 'utf8').split('\0').slice(0, -1);
  assert.deepEqual(argv, args.slice(args.indexOf(fake) + 1), 'every argument arrives as given');
  assert.ok(argv.includes(home));
  assert.equal(
    readFileSync(`${record}.passwd`, 'utf8'),
    'root:x:0:0:root:/root:/usr/sbin/nologin\n' +
      `kubenotes:x:1900000007:1900000007:workshop participant:${home}:/bin/bash\n` +
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  );
  assert.equal(
    readFileSync(`${record}.group`, 'utf8'),
    'root:x:0:\nkubenotes:x:1900000007:\nnogroup:x:65534:\n',
  );
  const fds = readFileSync(`${record}.fds`, 'utf8').split('\n').filter(Boolean).map(Number);
  assert.ok(!fds.includes(12), `fd 12 is closed before the sandbox: ${fds.join(' ')}`);
  assert.equal(existsSync(`${record}.bash-env`), false, 'BASH_ENV is not sourced');
});

test('a cgroup that cannot be joined stops everything, with a message', () => {
  const fake = join(dir, 'must-not-run');
  const { file, args } = sandboxedCommand(
    { file: 'bash', args: [] },
    {
      ...base,
      cgroupProcs: [join(dir, 'no-such-dir', 'cgroup.procs')],
      tools: { ...DEFAULT_TOOLS, prlimit: fake },
    },
  );
  const result = spawnSync(file, args, { encoding: 'utf8' });
  assert.equal(result.status, 126);
  assert.match(result.stderr, /kubenotes: cannot join the session's cgroup/);
});

test('a network of its own: only loopback, the relay socket read-only, the relay before the shell', () => {
  const socket = '/var/lib/kubenotes/api-relay/api.sock';
  const { args } = sandboxedCommand(
    { file: 'bash', args: ['-i'] },
    { ...base, apiRelay: { socket } },
  );
  const bwrap = segment(args, '/usr/bin/bwrap');
  assert.ok(bwrap.includes('--unshare-net'));
  assert.match(
    bwrap.join(' '),
    /--perms 0755 --dir \/run --perms 0755 --dir \/run\/kubenotes --ro-bind \/var\/lib\/kubenotes\/api-relay\/api\.sock \/run\/kubenotes\/api\.sock/,
  );
  // After setpriv, as the participant: the relay step, then the shell.
  const afterSetpriv = args.slice(args.lastIndexOf('--') + 1);
  assert.deepEqual(afterSetpriv.slice(0, 5), [
    '/bin/bash',
    '--posix',
    '--norc',
    '--noprofile',
    '-c',
  ]);
  assert.deepEqual(afterSetpriv.slice(6), [
    'kubenotes-relay',
    '/usr/bin/socat',
    '6443',
    '/run/kubenotes/api.sock',
    'bash',
    '-i',
  ]);
  const shared = segment(sandboxedCommand({ file: 'bash', args: [] }, base).args, '/usr/bin/bwrap');
  assert.ok(!shared.includes('--unshare-net'), 'without a relay the network is shared');
});

test("the participant's network: entered with nsenter before bwrap, the relay on the terminal's own port", () => {
  const network = '/proc/4242/fd/31';
  const { args } = sandboxedCommand(
    { file: 'bash', args: ['-i'] },
    { ...base, apiRelay: { socket: '/s/api.sock', port: 6444, network } },
  );
  const programs = args.filter((a) => Object.values(DEFAULT_TOOLS).includes(a));
  assert.deepEqual(programs.slice(0, 4), [
    '/usr/bin/nsenter',
    '/usr/bin/prlimit',
    '/usr/bin/bwrap',
    '/usr/bin/setpriv',
  ]);
  assert.deepEqual(segment(args, '/usr/bin/nsenter'), [`--net=${network}`]);
  // bwrap must not make a network of its own: the shell would lose the shared localhost.
  assert.ok(!segment(args, '/usr/bin/bwrap').includes('--unshare-net'));
  assert.deepEqual(args.slice(-6, -2), [
    'kubenotes-relay',
    '/usr/bin/socat',
    '6444',
    '/run/kubenotes/api.sock',
  ]);
  assert.throws(
    () =>
      sandboxedCommand(
        { file: 'bash', args: [] },
        { ...base, apiRelay: { socket: '/s', network: 'fd/3' } },
      ),
    /network "fd\/3" must be an absolute path/,
  );
  assert.throws(
    () =>
      sandboxedCommand(
        { file: 'bash', args: [] },
        { ...base, apiRelay: { socket: '/s', port: 70000 } },
      ),
    /API port 70000 is not a TCP port/,
  );
});

test('a seccomp filter: its file goes to the root step, bwrap reads it on fd 5', () => {
  const { args } = sandboxedCommand(
    { file: 'bash', args: [] },
    { ...base, seccompFile: '/state/sessions/seccomp.bpf' },
  );
  const bwrap = segment(args, '/usr/bin/bwrap');
  assert.deepEqual(bwrap.slice(bwrap.indexOf('--seccomp'), bwrap.indexOf('--seccomp') + 2), [
    '--seccomp',
    '5',
  ]);
  assert.equal(args[8], '/state/sessions/seccomp.bpf', '"$3" of the root step');
  assert.throws(
    () => sandboxedCommand({ file: 'bash', args: [] }, { ...base, seccompFile: 'rel.bpf' }),
    /absolute/,
  );
});
