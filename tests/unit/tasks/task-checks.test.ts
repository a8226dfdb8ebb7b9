import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Session } from '../../../sandbox-server/src/session/session.ts';
import type { TaskMessage } from '../../../sandbox-server/src/shared/protocol.ts';
import { TaskBook } from '../../../sandbox-server/src/tasks/task-book.ts';
import { TaskChecks } from '../../../sandbox-server/src/tasks/task-checks.ts';
import { createLogger } from '../../../sandbox-server/src/telemetry/log.ts';

/** A session as TaskChecks sees it: real processes, answers collected. */
function fakeSession(id: string) {
  const answers: TaskMessage[] = [];
  const scripts: string[] = [];
  const session = {
    id,
    ended: false,
    checkCommand(script: string) {
      scripts.push(script);
      return {
        file: 'bash',
        args: ['-c', script],
        env: { PATH: process.env.PATH ?? '' },
        cwd: '/',
      };
    },
    recordTask() {},
    broadcast(message: TaskMessage) {
      answers.push(message);
    },
  };
  return { session: session as unknown as Session, answers, scripts };
}

const book = new TaskBook(
  {
    version: 1,
    chapters: {
      c: {
        ok: { title: 'ok', line: 1, check: 'echo fine', variables: {} },
        slow: {
          title: 'slow',
          line: 2,
          check: 'sleep 0.3; echo "<word>"; exit 1',
          variables: { word: { default: 'w', description: 'd', kind: 'text' } },
        },
      },
    },
  },
  'test',
);
const log = createLogger(() => {}, 'error');

test('per session: one check at a time, a task asked again while waiting is checked once, with the newest values', async () => {
  const checks = new TaskChecks({ book, log });
  const { session, answers, scripts } = fakeSession('s1');
  checks.request(session, {
    type: 'check',
    chapter: 'c',
    tasks: ['slow'],
    variables: { word: 'first' },
  });
  checks.request(session, { type: 'check', chapter: 'c', tasks: ['ok'] });
  checks.request(session, { type: 'check', chapter: 'c', tasks: ['ok'] });
  checks.request(session, {
    type: 'check',
    chapter: 'c',
    tasks: ['slow'],
    variables: { word: 'newest' },
  });
  while (answers.length < 3) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(
    answers.map((a) => `${a.task}:${a.state}:${a.message}`),
    ['slow:not-yet:first', 'ok:done:fine', 'slow:not-yet:newest'],
  );
  assert.equal(scripts.length, 3);
});

test('past its budget a session is told to wait, and nothing runs', async () => {
  const checks = new TaskChecks({ book, log, perMinute: 2 });
  const { session, answers, scripts } = fakeSession('s2');
  for (let i = 0; i < 3; i++) {
    checks.request(session, { type: 'check', chapter: 'c', tasks: ['ok'] });
    while (answers.length <= i) await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(
    answers.map((a) => a.code ?? a.state),
    ['done', 'done', 'rate_limited'],
  );
  assert.match(answers[2]!.message, /^Could not check: too many checks at once; wait \d+ s/);
  assert.equal(scripts.length, 2);
});

test('a sandbox without a tasks file says so, rather than blaming the page', () => {
  const empty = new TaskBook({ version: 1, chapters: {} }, 'none');
  const found = empty.check('pods', 'pod-with-port', {});
  assert.equal(found.ok, false);
  assert.equal(!found.ok && found.code, 'unavailable');
  assert.match(!found.ok ? found.message : '', /no tasks file.*--tasks/);
  const unknown = book.check('c', 'nope', {});
  assert.equal(!unknown.ok && unknown.code, 'unknown_task');
});
