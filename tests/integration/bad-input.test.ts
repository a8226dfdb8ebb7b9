/**
 * Every bad input gets the answer docs/protocol.md names, and nothing else breaks: the session
 * and the other sessions keep working.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { NoneProvider } from '../../sandbox-server/src/providers/none-provider.ts';
import { terminalPath } from '../../sandbox-server/src/shared/protocol.ts';
import {
  createSession,
  endSession,
  plain,
  TerminalClient,
  type UpgradeRefused,
} from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer(['--attach-timeout', '400ms', '--max-sessions', '6']);
});
after(() => server.stop());

/** A raw socket, for sending what a well-behaved client would not. */
async function rawSocket(
  sessionId: string,
): Promise<{ ws: WebSocket; closed: Promise<[number, string]> }> {
  const ws = new WebSocket(server.url.replace('http', 'ws') + terminalPath(sessionId));
  const closed = new Promise<[number, string]>((resolve) =>
    ws.on('close', (code, reason) => resolve([code, reason.toString()])),
  );
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, closed };
}

const attachCases: {
  name: string;
  send: (ws: WebSocket, token: string) => void;
  code: number;
  reason: string;
}[] = [
  { name: 'no attach within the timeout', send: () => {}, code: 4400, reason: 'attach_timeout' },
  { name: 'not JSON', send: (ws) => ws.send('{attach'), code: 4400, reason: 'malformed_message' },
  {
    name: 'another message first',
    send: (ws) => ws.send(JSON.stringify({ type: 'resize', cols: 80, rows: 24 })),
    code: 4400,
    reason: 'invalid_message',
  },
  {
    name: 'attach without a token',
    send: (ws) => ws.send(JSON.stringify({ type: 'attach', cols: 80, rows: 24 })),
    code: 4400,
    reason: 'invalid_message',
  },
  {
    name: 'attach with cols out of bounds',
    send: (ws, token) => ws.send(JSON.stringify({ type: 'attach', token, cols: 5000, rows: 24 })),
    code: 4400,
    reason: 'invalid_message',
  },
  {
    name: 'binary before attach',
    send: (ws) => ws.send(Buffer.from('ls\r')),
    code: 4400,
    reason: 'malformed_message',
  },
  {
    name: 'a wrong token',
    send: (ws) =>
      ws.send(JSON.stringify({ type: 'attach', token: 'x'.repeat(43), cols: 80, rows: 24 })),
    code: 4001,
    reason: 'bad_token',
  },
];

for (const { name, send, code, reason } of attachCases) {
  test(`attach: ${name} closes with ${code} ${reason}`, async () => {
    const session = await createSession(server.url);
    const { ws, closed } = await rawSocket(session.id);
    send(ws, session.token);
    assert.deepEqual(await closed, [code, reason]);
    // The session is unharmed: its owner can still attach and run something.
    const term = await TerminalClient.open(server.url, session);
    assert.equal((await term.run('true')).exitCode, 0);
    term.close();
    await endSession(server.url, session);
  });
}

test('upgrade: an unknown session is refused with 404 before the upgrade', async () => {
  await assert.rejects(
    TerminalClient.connect(server.url, { id: 'nosuchsession', token: 't' }),
    (error: UpgradeRefused) => error.status === 404 && /"no_session"/.test(error.body),
  );
});

test('upgrade: a foreign Origin is refused with 403 (cross-site WebSocket hijacking)', async () => {
  const session = await createSession(server.url);
  await assert.rejects(
    TerminalClient.connect(server.url, session, { origin: 'https://evil.example' }),
    (error: UpgradeRefused) => error.status === 403 && /"origin_not_allowed"/.test(error.body),
  );
  // The server's own origin and localhost pages are allowed.
  const own = await TerminalClient.open(server.url, session, { origin: server.url });
  own.close();
});

test('after attach: bad control messages get an error and the socket stays open', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  const cases: [string, string][] = [
    ['not json', 'malformed_message'],
    ['[1,2]', 'malformed_message'],
    [JSON.stringify({ type: 'launch-missiles' }), 'unknown_type'],
    [JSON.stringify({ type: 'resize', cols: 0, rows: 24 }), 'invalid_message'],
    [JSON.stringify({ type: 'resize', cols: 80, rows: 501 }), 'invalid_message'],
    [JSON.stringify({ type: 'ack', bytes: -5 }), 'invalid_message'],
    [
      JSON.stringify({ type: 'attach', token: session.token, cols: 80, rows: 24 }),
      'invalid_message',
    ],
  ];
  for (const [text, code] of cases) {
    const answer = term.waitForMessage('error');
    term.ws.send(text);
    const error = await answer;
    assert.equal(error.code, code, text);
    assert.ok(error.message.length > 10, 'the message says what was wrong');
  }
  assert.equal(term.closed, undefined);
  const still = await term.run('echo still-here');
  assert.match(plain(still.output), /still-here/);
  term.close();
});

test('after attach: a text frame over 64 KiB closes with 1009', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  term.ws.send(JSON.stringify({ type: 'progress', page: 'x'.repeat(70 * 1024) }));
  assert.deepEqual(await term.waitForClose(), { code: 1009, reason: 'too_large' });
});

test('after attach: a binary frame over 1 MiB closes with 1009; the session lives on', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  term.ws.send(Buffer.alloc(1024 * 1024 + 1, 0x61));
  const closed = await term.waitForClose();
  assert.equal(closed.code, 1009);
  const again = await TerminalClient.open(server.url, session);
  assert.equal((await again.run('true')).exitCode, 0);
  again.close();
});

test('HTTP: sessions answer 404 for unknown ids and 401 for wrong tokens', async () => {
  const session = await createSession(server.url);
  const get = (id: string, auth?: string) =>
    fetch(`${server.url}/api/sessions/${id}`, auth ? { headers: { authorization: auth } } : {});
  const unknown = await get('doesnotexist', `Bearer ${session.token}`);
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, 'no_session');
  for (const auth of [undefined, 'Bearer wrong', `Basic ${session.token}`]) {
    const res = await get(session.id, auth);
    assert.equal(res.status, 401, String(auth));
    const body = await res.json();
    assert.equal(body.error.code, 'bad_token');
    assert.match(body.error.message, /Authorization: Bearer/);
  }
  const ok = await get(session.id, `Bearer ${session.token}`);
  assert.equal(ok.status, 200);
  assert.deepEqual(Object.keys(await ok.json()).sort(), [
    'attached',
    'expiresAt',
    'id',
    'namespace',
  ]);
});

test('HTTP: DELETE ends the session: 204, then its socket closes and the id is gone', async () => {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  const res = await endSession(server.url, session);
  assert.equal(res.status, 204);
  assert.deepEqual(await term.waitForClose(), { code: 1000, reason: 'session_ended' });
  const gone = await fetch(`${server.url}/api/sessions/${session.id}`, {
    headers: { authorization: `Bearer ${session.token}` },
  });
  assert.equal(gone.status, 404);
});

test('HTTP: malformed bodies, wrong methods and unknown paths get JSON errors', async () => {
  const cases: [RequestInit & { path: string }, number, string][] = [
    [
      {
        path: '/api/sessions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{',
      },
      400,
      'bad_request',
    ],
    [
      {
        path: '/api/sessions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"joinCode":5}',
      },
      400,
      'bad_request',
    ],
    [
      {
        path: '/api/sessions',
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hi',
      },
      400,
      'bad_request',
    ],
    [{ path: '/api/sessions', method: 'GET' }, 405, 'method_not_allowed'],
    [{ path: '/api/nothing-here' }, 404, 'not_found'],
    [
      { path: '/api/health', headers: { origin: 'https://evil.example' } },
      403,
      'origin_not_allowed',
    ],
  ];
  for (const [{ path, ...init }, status, code] of cases) {
    const res = await fetch(server.url + path, init);
    assert.equal(res.status, status, `${init.method ?? 'GET'} ${path}`);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = await res.json();
    assert.equal(body.error.code, code);
    assert.ok(body.error.message.length > 10);
  }
});

test('HTTP: CORS preflight from an allowed origin gets the protocol headers', async () => {
  const res = await fetch(`${server.url}/api/sessions`, {
    method: 'OPTIONS',
    headers: { origin: 'http://localhost:4321', 'access-control-request-method': 'POST' },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:4321');
  assert.equal(res.headers.get('access-control-allow-methods'), 'GET, POST, DELETE');
  assert.equal(res.headers.get('access-control-allow-headers'), 'content-type, authorization');
});

test('HTTP: a full server answers 503 with Retry-After, and frees a place when one ends', async () => {
  const health = await fetch(`${server.url}/api/health`).then((r) => r.json());
  const created = [];
  for (let i = health.sessions.active; i < health.sessions.max; i++) {
    created.push(await createSession(server.url));
  }
  const full = await fetch(`${server.url}/api/sessions`, { method: 'POST' });
  assert.equal(full.status, 503);
  assert.ok(Number(full.headers.get('retry-after')) > 0);
  assert.equal((await full.json()).error.code, 'server_full');
  const first = created[0]!;
  await endSession(server.url, first);
  const again = await fetch(`${server.url}/api/sessions`, { method: 'POST' });
  assert.equal(again.status, 201);
});

test('HTTP: a server out of file descriptors says so (503 out_of_files), not that it is full', async () => {
  // As when a relay flood used up the server's descriptors: "spawn mount EMFILE".
  class StarvedProvider extends NoneProvider {
    override async lease(): Promise<never> {
      throw Object.assign(new Error('spawn mount EMFILE'), { code: 'EMFILE' });
    }
  }
  const starved = await startTestServer([], { provider: new StarvedProvider('starved') });
  try {
    const res = await fetch(`${starved.url}/api/sessions`, { method: 'POST' });
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    const body = await res.json();
    assert.equal(body.error.code, 'out_of_files');
    assert.match(body.error.message, /run out of open files/);
  } finally {
    await starved.stop();
  }
});

test("HTTP: DNS rebinding (Origin and Host both a name that is not the server's) is refused", async () => {
  const port = new URL(server.url).port;
  const { request } = await import('node:http');
  // fetch will not set Host; a raw request does, as a browser on a rebound name would.
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/sessions',
        headers: {
          host: `rebind.evil.example:${port}`,
          origin: `http://rebind.evil.example:${port}`,
          'content-type': 'application/json',
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
  assert.equal(status, 403);
});
