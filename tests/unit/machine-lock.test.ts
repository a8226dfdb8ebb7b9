/**
 * The machine-wide lock of test runs (tests/support/machine-lock.ts): a lock whose owner is
 * gone is taken over, also when its pid now names a process that started after the lock was
 * written (a run killed at a session's end, its pid reused by the next run's processes); a
 * lock whose owner runs is waited for.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireMachineLock } from '../support/machine-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubenotes-machine-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a lock whose pid was reused by a later process is taken over', {
  timeout: 10_000,
}, async () => {
  const path = join(dir, 'reused.lock');
  const later = spawn('sleep', ['30']);
  try {
    writeFileSync(path, String(later.pid));
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(path, anHourAgo, anHourAgo);
    const waits: string[] = [];
    const release = await acquireMachineLock(path, 'the work', (line) => waits.push(line));
    assert.equal(readFileSync(path, 'utf8'), String(process.pid));
    assert.deepEqual(waits, []);
    release();
  } finally {
    later.kill('SIGKILL');
  }
});

test('a lock held by a live owner is waited for, and taken when it is released', async () => {
  const path = join(dir, 'held.lock');
  const owner = spawn('sleep', ['30']);
  try {
    await sleep(50); // the owner runs before it writes its lock, as a real one does
    writeFileSync(path, String(owner.pid));
    const waits: string[] = [];
    let taken = false;
    const acquiring = acquireMachineLock(path, 'the work', (line) => waits.push(line)).then(
      (release) => {
        taken = true;
        return release;
      },
    );
    await sleep(1200);
    assert.equal(taken, false);
    assert.match(waits.join('\n'), /waiting for the work: another test run \(pid \d+\) holds/);
    owner.kill('SIGKILL');
    const release = await acquiring;
    assert.equal(readFileSync(path, 'utf8'), String(process.pid));
    release();
  } finally {
    owner.kill('SIGKILL');
  }
});
