import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import {
  parseProcessStatus,
  processTable,
  readProcessTable,
} from '../../../sandbox-server/src/processes/process-tree.ts';

const status = (lines: string[]) => `Name:\tbash\n${lines.join('\n')}\n`;

const cases: { name: string; text: string; want: ReturnType<typeof parseProcessStatus> }[] = [
  {
    name: 'a running shell',
    text: status(['State:\tS (sleeping)', 'Uid:\t1000\t1000\t1000\t1000', 'NSsid:\t4242']),
    want: { pid: 7, sid: 4242, uids: [1000, 1000, 1000, 1000], zombie: false },
  },
  {
    name: 'a zombie',
    text: status(['State:\tZ (zombie)', 'Uid:\t0\t0\t0\t0', 'NSsid:\t9']),
    want: { pid: 7, sid: 9, uids: [0, 0, 0, 0], zombie: true },
  },
  {
    name: 'in a nested pid namespace: the outermost session id counts',
    text: status(['State:\tR (running)', 'Uid:\t5\t6\t7\t8', 'NSsid:\t4242\t1']),
    want: { pid: 7, sid: 4242, uids: [5, 6, 7, 8], zombie: false },
  },
  {
    name: 'a kernel that does not say its session',
    text: status(['State:\tS (sleeping)', 'Uid:\t1\t1\t1\t1']),
    want: { pid: 7, sid: Number.NaN, uids: [1, 1, 1, 1], zombie: false },
  },
];
for (const { name, text, want } of cases) {
  test(`parseProcessStatus: ${name}`, () => assert.deepEqual(parseProcessStatus(7, text), want));
}

// A detached child calls setsid(), so it leads a session of its own whose id is its pid. (The
// test runner's own session may be led from outside this pid namespace, as in CI's container,
// where /proc says 0.)
test('the process table has a session leader we started, with its session and uid', async () => {
  const child = spawn('sleep', ['5'], { stdio: 'ignore', detached: true });
  try {
    await new Promise((resolve) => child.once('spawn', resolve));
    const entry = readProcessTable().find((candidate) => candidate.pid === child.pid);
    assert.ok(entry, 'the child is in the table');
    assert.equal(entry.sid, child.pid, 'it leads its own session');
    assert.equal(entry.uids[0], process.getuid?.());
    assert.equal(entry.zombie, false);
  } finally {
    child.kill();
  }
});

test('callers in the same turn share one read; a later turn reads again', async () => {
  const [a, b] = await Promise.all([processTable(), processTable()]);
  assert.equal(a, b, 'one table for both');
  const child = spawn('sleep', ['5'], { stdio: 'ignore' });
  try {
    const later = await processTable();
    assert.notEqual(later, a);
    assert.ok(
      later.some((entry) => entry.pid === child.pid),
      'a process started since is in it',
    );
  } finally {
    child.kill();
  }
});
