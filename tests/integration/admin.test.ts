/**
 * The instructor's API: who is on which snippet, a live event stream, extend, end, broadcast,
 * metrics — all behind the admin token.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

/** An event as the stream sends it (loosely typed: the test checks the fields it uses). */
interface AdminEvent {
  session: { id: string };
}

import { createSession, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const ADMIN = 'instructor-secret-0123456789';
let server: TestServer;
before(async () => {
  server = await startTestServer(['--admin-token', ADMIN]);
});
after(() => server.stop());

const admin = (path: string, init: RequestInit = {}) =>
  fetch(server.url + path, {
    ...init,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      'content-type': 'application/json',
      ...(init.headers ?? {}),
    },
  });

/** Reads Server-Sent Events from a fetch body until `done` says stop. */
async function readEvents(
  res: Response,
  done: (events: { event: string; data: AdminEvent }[]) => boolean,
) {
  const events: { event: string; data: AdminEvent }[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!done(events)) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf('\n\n');
    while (cut >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
      cut = buffer.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return events;
}

test('without the admin token: 401; a client guessing tokens is slowed to 429', async () => {
  const none = await fetch(`${server.url}/api/admin/sessions`);
  assert.equal(none.status, 401);
  let status = 0;
  for (let i = 0; i < 15 && status !== 429; i++) {
    status = (
      await fetch(`${server.url}/api/admin/sessions`, {
        headers: { authorization: 'Bearer guess' },
      })
    ).status;
  }
  assert.equal(status, 429);
  // The right token still works.
  assert.equal((await admin('/api/admin/sessions')).status, 200);
});

test('the instructor sees each session with the last snippet it ran, live', async () => {
  const stream = await admin('/api/admin/events');
  assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  term.send({ type: 'progress', page: '/pods/', snippet: 'pods-3', state: 'failed', code: 1 });
  const events = await readEvents(stream, (seen) =>
    seen.some((e) => e.event === 'progress' && e.data.session.id === session.id),
  );
  assert.ok(events.some((e) => e.event === 'created' && e.data.session.id === session.id));
  const list = await admin('/api/admin/sessions').then((r) => r.json());
  const mine = list.find((s: { id: string }) => s.id === session.id);
  assert.deepEqual(mine.progress, { page: '/pods/', snippet: 'pods-3', state: 'failed', code: 1 });
  assert.equal(mine.attached, 1);
  for (const key of ['namespace', 'createdAt', 'lastActiveAt', 'expiresAt'])
    assert.ok(mine[key], key);
  term.close();
});

test('extend, broadcast and end a session', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  const extended = await admin(`/api/admin/sessions/${session.id}/extend`, {
    method: 'POST',
    body: JSON.stringify({ minutes: 30 }),
  }).then((r) => r.json());
  assert.equal(Date.parse(extended.expiresAt) - Date.parse(session.expiresAt), 30 * 60_000);
  const bad = await admin(`/api/admin/sessions/${session.id}/extend`, {
    method: 'POST',
    body: '{"minutes":0}',
  });
  assert.equal(bad.status, 400);

  const notice = term.waitForMessage('notice');
  const sent = await admin('/api/admin/broadcast', {
    method: 'POST',
    body: JSON.stringify({ message: 'Break until 11:00' }),
  });
  assert.equal(sent.status, 202);
  assert.equal((await notice).message, 'Break until 11:00');
  assert.doesNotMatch(
    term.output,
    /Break until/,
    'a notice is shown beside the terminal, never typed into it',
  );

  const ended = await admin(`/api/admin/sessions/${session.id}`, { method: 'DELETE' });
  assert.equal(ended.status, 204);
  assert.deepEqual(await term.waitForClose(), { code: 1000, reason: 'session_ended' });
});

test('an instructor watches read-only; the participant keeps typing', async () => {
  const session = await createSession(server.url);
  const owner = await TerminalClient.open(server.url, session);
  const watcher = await TerminalClient.open(server.url, session, { token: ADMIN, readOnly: true });
  const seen = watcher.waitForText('participant-typed');
  await owner.run('echo participant-typed');
  await seen;
  owner.close();
  watcher.close();
});

test('GET /metrics reports sessions, attaches, bytes and errors in Prometheus format', async () => {
  // Refused without the token (429 here: an earlier test spent this client's guesses).
  assert.ok([401, 429].includes((await fetch(`${server.url}/metrics`)).status));
  const text = await admin('/metrics').then((r) => r.text());
  for (const name of [
    'kubenotes_sessions_active',
    'kubenotes_sessions_created_total',
    'kubenotes_attaches_total',
    'kubenotes_output_bytes_total',
    'kubenotes_errors_total{code="bad_token"}',
    'kubenotes_namespace_seconds_count{op="create"}',
  ]) {
    assert.match(text, new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} `, 'm'), name);
  }
  const output = Number(/^kubenotes_output_bytes_total (\d+)/m.exec(text)?.[1]);
  assert.ok(output > 0);
  // Earlier tests typed into their shells: each keystroke's echo was timed, and an echo on an
  // idle server is far under a quarter of a second.
  const echoes = Number(/^kubenotes_echo_seconds_count (\d+)/m.exec(text)?.[1]);
  const underAQuarterSecond = Number(
    /^kubenotes_echo_seconds_bucket\{le="0.25"\} (\d+)/m.exec(text)?.[1],
  );
  assert.ok(echoes > 0, 'echoes were timed');
  assert.ok(underAQuarterSecond > 0 && underAQuarterSecond <= echoes);
  assert.match(text, /^kubenotes_echo_seconds_bucket\{le="\+Inf"\} \d+$/m);
});

test('the instructor API is off (404 that says how to turn it on) without --admin-token', async () => {
  const plainServer = await startTestServer();
  try {
    const res = await fetch(`${plainServer.url}/api/admin/sessions`, {
      headers: { authorization: 'Bearer x' },
    });
    assert.equal(res.status, 404);
    assert.match((await res.json()).error.message, /--admin-token/);
  } finally {
    await plainServer.stop();
  }
});
