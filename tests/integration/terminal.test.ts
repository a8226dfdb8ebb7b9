/**
 * A real server, real ptys, real WebSockets: what a reader's terminal goes through.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer(['--admin-token', 'instructor-token-0123456789']);
});
after(() => server.stop());

test('create, attach, run a command: output and its OSC 133 exit code', async () => {
  const session = await createSession(server.url);
  assert.equal(session.namespace, 'default');
  assert.ok(Date.parse(session.expiresAt) > Date.now());
  const term = await TerminalClient.open(server.url, session);
  assert.deepEqual(term.ready, { type: 'ready', session: session.id, resumed: false });

  const ok = await term.run('echo "six times seven is $((6*7))"');
  assert.equal(ok.exitCode, 0);
  assert.match(plain(ok.output), /six times seven is 42/);

  const failed = await term.run('ls /no/such/path');
  assert.equal(failed.exitCode, 2);
  assert.match(plain(failed.output), /No such file or directory/);

  // Subshells and compound commands are commands too.
  assert.equal((await term.run('(exit 7)')).exitCode, 7);
  assert.equal((await term.run('for i in 1 2; do false; done')).exitCode, 1);
  assert.equal((await term.run('{ true; }')).exitCode, 0);

  const heredoc = await term.run("cat > note.txt << 'EOF'\rline one\rline two\rEOF");
  assert.equal(heredoc.exitCode, 0);
  const read = await term.run('wc -l < note.txt');
  assert.match(plain(read.output), /^\s*2\s*$/m);
  term.close();
});

test('the shell gets an allow-listed environment, its own HOME, and no server secrets', async () => {
  process.env.KUBENOTES_TEST_SECRET = 'do-not-leak';
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  const env = await term.run('env | sort');
  const text = plain(env.output);
  assert.doesNotMatch(text, /do-not-leak|KUBENOTES_TEST_SECRET/);
  assert.match(text, /^TERM=xterm-256color$/m);
  const home = await term.run('echo "home=$HOME cwd=$PWD"');
  assert.match(plain(home.output), new RegExp(`home=\\S*${session.id} cwd=\\S*${session.id}`));
  term.close();
});

test('a reload resumes the same shell and screen, full-screen programs included', async () => {
  const session = await createSession(server.url);
  const first = await TerminalClient.open(server.url, session, { cols: 90, rows: 25 });
  await first.run('export MARKER=resume-check-1; echo before-reload');
  first.close();
  await first.waitForClose();

  const second = await TerminalClient.open(server.url, session, { cols: 90, rows: 25 });
  assert.equal(second.ready?.resumed, true);
  await second.waitFor(() => second.replay !== undefined, 5000, 'the replayed screen');
  assert.match(plain(second.replay ?? ''), /before-reload/);
  // Same shell: the variable set before the reload is still there.
  const same = await second.run('echo "marker=$MARKER"');
  assert.match(plain(same.output), /marker=resume-check-1/);

  // A full-screen program: vi in the alternate screen, then a third attach mid-edit.
  second.type('vi -u NONE draft.txt\r');
  await second.waitForText('\x1b[?1049h');
  second.type('ifull-screen-text\x1b');
  await second.waitForText('full-screen-text');
  second.close();
  await second.waitForClose();
  const third = await TerminalClient.open(server.url, session, { cols: 90, rows: 25 });
  await third.waitFor(() => third.replay !== undefined, 5000, 'the replayed screen');
  assert.match(third.replay ?? '', /\x1b\[\?1049h/, 'the replay switches to the alternate screen');
  assert.match(plain(third.replay ?? ''), /full-screen-text/);
  third.type(':q!\r');
  await third.waitForMark('prompt');
  third.close();
});

test('two attachments see the same output; input from either reaches the shell', async () => {
  const session = await createSession(server.url);
  const a = await TerminalClient.open(server.url, session);
  const b = await TerminalClient.open(server.url, session);
  assert.equal(b.ready?.resumed, true);
  const info = await fetch(`${server.url}/api/sessions/${session.id}`, {
    headers: { authorization: `Bearer ${session.token}` },
  }).then((r) => r.json());
  assert.equal(info.attached, 2);
  const seenByB = b.waitForText('from-a-42');
  await a.run('echo from-a-$((40+2))');
  await seenByB;
  const seenByA = a.waitForText('from-b-43');
  await b.run('echo from-b-$((40+3))');
  await seenByA;
  a.close();
  b.close();
});

test('an exited shell reports its code, and the next input starts a new one', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  term.type('exit 3\r');
  const exit = await term.waitForMessage('exit');
  assert.equal(exit.code, 3);
  const again = await term.run('echo new-shell-$((1+1))');
  assert.equal(again.exitCode, 0);
  assert.match(plain(again.output), /new-shell-2/);
  term.close();
});

/**
 * Waits until a process running `argv` owns the terminal (its process group is the terminal's
 * foreground group). bash prints the command-start mark (PS0) before it forks the command, and
 * a Ctrl-C that comes before the command holds the terminal reaches only bash, and is lost, as
 * on any terminal: a person cannot be that quick, a test can (it lost 1 in 10 in a loop).
 */
async function untilForeground(argv: string[]): Promise<void> {
  const wanted = `${argv.join('\0')}\0`;
  for (let waited = 0; waited < 10_000; waited += 10) {
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== wanted) continue;
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (fields[2] === fields[5]) return; // pgrp === tpgid
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`${argv.join(' ')} never ran in the foreground`);
}

test('Ctrl-C stops a command promptly and marks it failed with 130', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  // A duration no other test uses, to find this very process.
  term.type('sleep 300.25\r');
  await term.waitForMark('command-start');
  await untilForeground(['sleep', '300.25']);
  term.type('\x03');
  const end = await term.waitForMark('command-end');
  assert.deepEqual(end, { kind: 'command-end', exitCode: 130 });
  term.close();
});

test('an instructor attaches read-only with the admin token; typing is refused', async () => {
  const session = await createSession(server.url);
  const owner = await TerminalClient.open(server.url, session);
  const watcher = await TerminalClient.open(server.url, session, {
    token: 'instructor-token-0123456789',
    readOnly: true,
  });
  assert.equal(watcher.ready?.resumed, true);
  watcher.type('echo should-not-run\r');
  const refused = await watcher.waitForMessage('error');
  assert.equal(refused.code, 'read_only');
  const seen = watcher.waitForText('owner-typed');
  await owner.run('echo owner-typed');
  await seen;
  assert.doesNotMatch(owner.output, /should-not-run/);
  owner.close();
  watcher.close();
});

test('tokens never appear in the logs', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  await term.run('true');
  term.close();
  assert.ok(server.logs.length > 0);
  for (const line of server.logs) assert.ok(!line.includes(session.token), line);
});
