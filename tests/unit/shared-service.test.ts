/**
 * A machine service shared by test runs (the test cluster, the Docker engine): no run stops it
 * under another's feet, the last run stops what tests started, and what was running before
 * the tests is left running. Other runs are real processes here.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SharedService } from '../support/shared-service.ts';

const MODULE = join(import.meta.dirname, '..', 'support', 'shared-service.ts');
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-shared-service-'));
  dirs.push(dir);
  return dir;
}

/** Another test run: joins the service (finding it running) and stays until killed. */
async function otherRun(dir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { SharedService } from ${JSON.stringify(MODULE)};
       await new SharedService(${JSON.stringify(dir)}, 'the service', () => {})
         .use(async () => ({ value: 1, started: false }));
       console.log('joined');
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('joined')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the other run exited with ${code}`)));
  });
  return child;
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

test('a service tests started is left to another run still using it; the last run stops it', async () => {
  const dir = folder();
  const service = new SharedService(dir, 'the service', () => {});
  let stops = 0;
  const stop = async () => {
    stops++;
  };
  const mine = await service.use(async () => ({ value: 'up', started: true }));
  assert.equal(mine.startedHere, true);
  const other = await otherRun(dir);
  try {
    assert.match(await mine.leave(stop), /still used by pid \d+: left running/);
    assert.equal(stops, 0, 'not stopped under the other run');
  } finally {
    await stopped(other);
  }
  // The other run died without leaving: it does not keep the service up for ever.
  const again = await service.use(async () => ({ value: 'up', started: false }));
  assert.match(await again.leave(stop), /was started by tests .* stopped/);
  assert.equal(stops, 1);
});

test('a service that was running before the tests came is left running', async () => {
  const service = new SharedService(folder(), 'the service', () => {});
  let stops = 0;
  const use = await service.use(async () => ({ value: 'up', started: false }));
  assert.match(
    await use.leave(async () => {
      stops++;
    }),
    /was running before the tests came: left running/,
  );
  assert.equal(stops, 0);
});

test('a service taken on purpose (test-cluster up) is never stopped by a run', async () => {
  const dir = folder();
  const service = new SharedService(dir, 'the service', () => {});
  const use = await service.use(async () => ({ value: 'up', started: true }));
  service.clearStarter();
  let stops = 0;
  await use.leave(async () => {
    stops++;
  });
  assert.equal(stops, 0);
});

test('a run killed before it left does not keep the service up, even when its pid is reused', async () => {
  const dir = folder();
  const service = new SharedService(dir, 'the service', () => {});
  const mine = await service.use(async () => ({ value: 'up', started: true }));
  // What a killed run leaves: its user file. Here a live process has that pid now (pids wrap
  // at 32768), but started after the file was written.
  const reused = spawn('sleep', ['30']);
  try {
    const file = join(dir, 'users', String(reused.pid));
    writeFileSync(file, '');
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(file, anHourAgo, anHourAgo);
    let stops = 0;
    assert.match(
      await mine.leave(async () => {
        stops++;
      }),
      /no other run uses it: stopped/,
    );
    assert.equal(stops, 1);
  } finally {
    reused.kill('SIGKILL');
  }
});
