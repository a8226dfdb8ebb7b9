/**
 * Tasks' checks through a real server (local mode): the browser names a task, the server runs
 * the check from the tasks file as the session (its home, its environment), and answers with
 * a `task` message. Security: an unknown task, a script the browser sends, a check that never
 * ends.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TaskMessage } from '../../sandbox-server/src/shared/protocol.ts';
import type { TaskManifest } from '../../src/snippets/task-manifest.ts';
import { createSession, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const manifest: TaskManifest = {
  version: 1,
  chapters: {
    practice: {
      'make-note': {
        title: 'Write a note',
        line: 10,
        check:
          'test -s "$HOME/<note>" || { echo "there is no $HOME/<note> yet"; exit 1; }\necho "the note is there"',
        variables: { note: { default: 'note.txt', description: 'a file', kind: 'text' } },
      },
      'loops-forever': {
        title: 'Never ends',
        line: 20,
        check: 'sleep 987654 & echo started; while :; do :; done',
        variables: {},
      },
      broken: {
        title: 'Broken',
        line: 30,
        check: 'echo "kubectl: not found" >&2; exit 127',
        variables: {},
      },
    },
  },
};

const ADMIN = 'task-checks-admin-token-0123';
let server: TestServer;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubenotes-tasks-'));
  const file = join(dir, 'tasks.json');
  writeFileSync(file, JSON.stringify(manifest));
  server = await startTestServer(['--tasks', file, '--admin-token', ADMIN]);
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function check(term: TerminalClient, chapter: string, task: string, variables = {}) {
  const from = term.messages.length;
  term.send({ type: 'check', chapter, tasks: [task], variables });
  let found: TaskMessage | undefined;
  await term.waitFor(
    () => {
      found = term.messages
        .slice(from)
        .find((m): m is TaskMessage => m.type === 'task' && m.task === task);
      return found !== undefined;
    },
    20_000,
    `the result of ${task}`,
  );
  return found!;
}

test('a task is not yet done, then done once the reader did it in the terminal', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  const before = await check(term, 'practice', 'make-note');
  assert.equal(before.state, 'not-yet');
  assert.match(before.message, /^there is no \S+note\.txt yet$/);
  await term.run('echo hello > note.txt');
  const done = await check(term, 'practice', 'make-note');
  assert.deepEqual([done.state, done.message], ['done', 'the note is there']);
  // The instructor's /metrics counts the checks by answer.
  const metrics = await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  }).then((r) => r.text());
  assert.match(metrics, /^kubenotes_task_checks_total\{state="done"\} [1-9]/m);
  assert.match(metrics, /^kubenotes_task_checks_total\{state="not-yet"\} [1-9]/m);
  assert.match(metrics, /^kubenotes_task_check_seconds_count [1-9]/m);

  // The reader's values fill the placeholders, quoted as in a Run: never run as code.
  const quoted = await check(term, 'practice', 'make-note', { note: 'x; touch pwned' });
  assert.equal(quoted.state, 'not-yet');
  assert.match(quoted.message, /there is no \S+x; touch pwned yet/);
  assert.equal((await term.run('test -e pwned')).exitCode, 1);

  // A new terminal on the same session is told what was done.
  const second = await TerminalClient.open(server.url, session);
  await second.waitFor(() => second.messages.some((m) => m.type === 'record'));
  const record = second.messages.find((m) => m.type === 'record');
  assert.deepEqual(record && 'tasks' in record ? record.tasks : [], ['practice/make-note']);
  // Starting the chapter clean forgets it: the session answers with what is left.
  const from = second.messages.length;
  second.send({ type: 'reset', page: '/practice/', chapter: 'practice' });
  await second.waitFor(() => second.messages.slice(from).some((m) => m.type === 'record'));
  const after = second.messages.slice(from).find((m) => m.type === 'record');
  assert.deepEqual(after && 'tasks' in after ? after.tasks : null, []);
  second.close();
  term.close();
});

test('an unknown task, or a script sent by the browser, gets a clear error and runs nothing', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  const unknown = await check(term, 'practice', 'no-such-task');
  assert.equal(unknown.state, 'error');
  assert.equal(unknown.code, 'unknown_task');
  assert.match(unknown.message, /no task "no-such-task" in the chapter "practice"/);
  const otherChapter = await check(term, 'nowhere', 'make-note');
  assert.equal(otherChapter.code, 'unknown_task');

  // A check message with a script in it is refused as a whole.
  const from = term.messages.length;
  term.send({
    type: 'check',
    chapter: 'practice',
    tasks: ['make-note'],
    script: 'touch pwned',
  } as never);
  await term.waitFor(() => term.messages.slice(from).some((m) => m.type !== 'record'));
  const answer = term.messages.slice(from).find((m) => m.type !== 'record');
  assert.equal(answer?.type, 'task', 'unknown fields are dropped; the named task is checked');
  assert.equal((await term.run('test -e pwned')).exitCode, 1);
  term.close();
});

test('a check exiting with another code is "could not check", not "not yet"', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  const broken = await check(term, 'practice', 'broken');
  assert.equal(broken.state, 'error');
  assert.equal(broken.code, 'check_failed');
  assert.match(
    broken.message,
    /^Could not check: the check ended with code 127: kubectl: not found$/,
  );
  term.close();
});

test('a check that never ends is killed at its timeout and leaves no process behind', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  const looped = await check(term, 'practice', 'loops-forever');
  assert.equal(looped.state, 'error');
  assert.equal(looped.code, 'timeout');
  assert.match(looped.message, /longer than 10 s and was stopped/);
  // Neither the loop nor the `sleep 987654` it started in the background is left.
  await term.waitFor(() => !processesRunning('sleep 987654'), 5000, 'no sleep left');
  assert.equal(processesRunning('while :; do :; done'), false);
  term.close();
});

function processesRunning(text: string): boolean {
  // pgrep exits 1 when no process matches (`ps` of the whole machine can be megabytes).
  return spawnSync('pgrep', ['-f', text]).status === 0;
}
