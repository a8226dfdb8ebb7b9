import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import {
  parseProcessStatus,
  processTable,
  readProcessTable,
} from '../../sandbox-server/src/process-tree.ts';

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

test('the process table has this process, with its own session and uid', () => {
  const me = readProcessTable().find((entry) => entry.pid === process.pid);
  assert.ok(me, 'this process is in the table');
  assert.equal(me.uids[0], process.getuid?.());
  assert.ok(me.sid > 0);
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
