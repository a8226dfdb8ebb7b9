import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classView, STUCK_FAILURES, STUCK_MINUTES } from '../../../src/client/task-class-view.ts';

const now = Date.parse('2026-12-03T12:00:00Z');
const minutesAgo = (m: number) => new Date(now - m * 60_000).toISOString();

test('the class view counts, per task, who is done, trying and stuck', () => {
  const rows = classView(
    [
      { tasks: { 'pods/a': { state: 'done', failures: 5, since: minutesAgo(30) } } },
      { tasks: { 'pods/a': { state: 'not-yet', failures: 1, since: minutesAgo(1) } } },
      {
        tasks: {
          'pods/a': { state: 'not-yet', failures: STUCK_FAILURES, since: minutesAgo(1) },
          'labels/b': { state: 'error', failures: 0, since: minutesAgo(STUCK_MINUTES) },
        },
      },
      {},
    ],
    now,
  );
  assert.deepEqual(rows, [
    { task: 'labels/b', done: 0, trying: 0, stuck: 1 },
    { task: 'pods/a', done: 1, trying: 1, stuck: 1 },
  ]);
});
