/**
 * The errors a newcomer meets first, from the real command line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer } from '../support/test-server.ts';

const run = promisify(execFile);

async function cli(
  args: string[],
  node = process.execPath,
): Promise<{ code: number; stderr: string }> {
  try {
    await run(node, ['sandbox-server/bin/kubenotes.mjs', ...args], { timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

test('a port in use is named, with how to choose another', async () => {
  const server = await startTestServer();
  try {
    const port = new URL(server.url).port;
    const result = await cli(['sandbox', '--cluster', 'none', '--port', port]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      new RegExp(`Port ${port} on 127.0.0.1 is in use.*PORT=${Number(port) + 1} npm start`),
    );
  } finally {
    await server.stop();
  }
});

test('a bad setting is refused with its name and where it came from', async () => {
  const result = await cli(['sandbox', '--max-sessions', 'lots']);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /sessions\.max \(--max-sessions \/ KUBENOTES_MAX_SESSIONS\).*flag --max-sessions/,
  );
});

test('--help lists every setting with its environment variable', async () => {
  const { stdout } = await run(process.execPath, ['sandbox-server/bin/kubenotes.mjs', '--help']);
  for (const text of ['serve', '--max-sessions', 'KUBENOTES_MAX_SESSIONS', '--join-code']) {
    assert.ok(stdout.includes(text), text);
  }
});

test('an old Node is told which Node to use, before anything else runs', async (t) => {
  const old = '/usr/bin/node';
  const version = await run(old, ['--version']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  if (!/^v(1\d|20|21)\./.test(version)) return t.skip(`no Node older than 22 at ${old} to try`);
  const result = await cli(['serve'], old);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /needs Node\.js 22\.18 or newer.*npm start/s);
});
