/**
 * Flow control (docs/protocol.md): a client that never acknowledges is held at the high-water mark,
 * not buffered without bound; it is closed as too slow; other sessions keep answering.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_OUTPUT_FRAMES } from '../../sandbox-server/src/session/output-frames.ts';
import { createSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const HIGH = 256 * 1024;
let server: TestServer;
before(async () => {
  server = await startTestServer(['--high-water', String(HIGH), '--low-water', String(64 * 1024)]);
});
after(() => server.stop());

test('a client that never acks receives at most the high-water mark, while others stay responsive', async () => {
  const flood = await createSession(server.url);
  const stalled = await TerminalClient.open(server.url, flood, { ack: false });
  const quiet = await createSession(server.url);
  const other = await TerminalClient.open(server.url, quiet);

  stalled.type('yes kubenotes-flood\r');
  await stalled.waitFor(
    () => stalled.bytesReceived > HIGH,
    10_000,
    'the flood to reach high water',
  );
  const rssBefore = process.memoryUsage().rss;
  // While the flood is held, the other session runs commands as usual.
  for (let i = 0; i < 5; i++) {
    const result = await other.run(`echo other-session-${i}`);
    assert.match(plain(result.output), new RegExp(`other-session-${i}`));
  }
  await sleep(1000);
  const held = stalled.bytesReceived;
  await sleep(1000);
  // Nothing more was sent: the shell is paused, not buffered. The pty is paused after the frame
  // that crossed the mark, so at most one frame overshoots it: on a busy machine the 5 ms
  // frame timer fires late and that frame is up to maxFrameBytes (seen: 412 KiB).
  assert.equal(stalled.bytesReceived, held, 'no bytes flow while the client is behind');
  const bound = HIGH + DEFAULT_OUTPUT_FRAMES.maxFrameBytes;
  assert.ok(held <= bound, `held at ${held} bytes, over the ${HIGH} high-water mark plus a frame`);
  const grown = process.memoryUsage().rss - rssBefore;
  assert.ok(grown < 64 * 1024 * 1024, `server memory grew ${grown} bytes while the flood was held`);

  // Acknowledging lets it flow again; Ctrl-C then stops the flood and the shell answers.
  stalled.send({ type: 'ack', bytes: held });
  await stalled.waitFor(() => stalled.bytesReceived > held, 5000, 'the flood to resume');
  stalled.type('\x03');
  stalled.close();
  other.close();
});

test('a socket stuck above the high-water mark is closed with 4008 too_slow and may reattach', async () => {
  const slowServer = await startTestServer(['--high-water', String(HIGH), '--low-water', '0']);
  try {
    const session = await createSession(slowServer.url);
    const stalled = await TerminalClient.open(slowServer.url, session, { ack: false });
    stalled.type('yes\r');
    // The default too-slow limit is 5 s.
    assert.deepEqual(await stalled.waitForClose(15_000), { code: 4008, reason: 'too_slow' });
    // A fresh attach gets a fresh screen and can stop the flood.
    const back = await TerminalClient.open(slowServer.url, session);
    assert.equal(back.ready?.resumed, true);
    back.type('\x03');
    await back.waitForMark('command-end', 10_000);
    assert.equal((await back.run('echo after-the-flood')).exitCode, 0);
    back.close();
  } finally {
    await slowServer.stop();
  }
});

test('400,000 numbered lines (5 MiB) arrive complete and in order through flow control', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  // Numbered lines let us check that nothing was lost or reordered.
  const result = await term.run('seq 1 400000 | sed "s/^/line-/"', 60_000);
  assert.equal(result.exitCode, 0);
  const lines = plain(result.output)
    .split('\n')
    .filter((l) => l.startsWith('line-'));
  assert.equal(lines.length, 400000);
  for (let i = 0; i < lines.length; i += 9973) assert.equal(lines[i], `line-${i + 1}`);
  assert.equal(lines.at(-1), 'line-400000');
  term.close();
});
