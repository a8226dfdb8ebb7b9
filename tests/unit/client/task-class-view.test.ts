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
    { task: 'labels/b', done: 0, trying: 0, stuck: 1, commonCommand: undefined },
    { task: 'pods/a', done: 1, trying: 1, stuck: 1, commonCommand: undefined },
  ]);
});

test('the class view names the last command most of those not done yet ran before "not yet"', () => {
  const trying = (command?: string) => ({
    tasks: {
      'pods/a': { state: 'not-yet' as const, failures: 1, since: minutesAgo(1), command },
    },
  });
  const rows = classView(
    [
      trying('kubectl get pods'),
      trying('kubectl scale deploy web --replicas 5'),
      trying('kubectl scale deploy web --replicas 5'),
      trying(),
      // Done: what they ran last is not what the class is stuck on.
      ...[1, 2, 3].map(() => ({
        tasks: {
          'pods/a': {
            state: 'done' as const,
            failures: 1,
            since: minutesAgo(1),
            command: 'kubectl get pods',
          },
        },
      })),
    ],
    now,
  );
  assert.deepEqual(rows[0]?.commonCommand, {
    command: 'kubectl scale deploy web --replicas 5',
    count: 2,
  });
});
