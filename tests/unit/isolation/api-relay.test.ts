import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiRelay, apiEndpoint } from '../../../sandbox-server/src/isolation/api-relay.ts';
import { sessionKubeconfig } from '../../../sandbox-server/src/providers/tenancy/session-kubeconfig.ts';

const endpoints: { server: string; want: { host: string; port: number } | RegExp }[] = [
  { server: 'https://127.0.0.1:41234', want: { host: '127.0.0.1', port: 41234 } },
  { server: 'https://api.example.com', want: { host: 'api.example.com', port: 443 } },
  { server: 'http://localhost', want: { host: 'localhost', port: 80 } },
  { server: 'https://[::1]:6443', want: { host: '::1', port: 6443 } },
  {
    server: 'https://api.example.com:6443/some/prefix',
    want: { host: 'api.example.com', port: 6443 },
  },
  { server: 'api.example.com:6443', want: /not http\(s\)|not a URL/ },
  { server: '', want: /not a URL/ },
];
for (const { server, want } of endpoints) {
  test(`apiEndpoint(${JSON.stringify(server)})`, () => {
    if (want instanceof RegExp) assert.throws(() => apiEndpoint(server), want);
    else assert.deepEqual(apiEndpoint(server), want);
  });
}

function admin(cluster: { server: string; tlsServerName?: string; proxyUrl?: string }): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', caData: 'Q0EK', skipTLSVerify: false, ...cluster }],
    users: [{ name: 'admin', token: 'admin-token' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'admin' }],
    currentContext: 'ctx',
  });
  return config;
}

const clusterOf = (text: string) => JSON.parse(text).clusters[0].cluster;

test("sessionKubeconfig: through the relay, TLS is still checked against the cluster's own host", () => {
  const relayed = clusterOf(
    sessionKubeconfig(
      admin({ server: 'https://api.example.com:6443' }),
      't',
      'ns',
      'https://127.0.0.1:6443',
    ),
  );
  assert.deepEqual(relayed, {
    server: 'https://127.0.0.1:6443',
    'certificate-authority-data': 'Q0EK',
    'tls-server-name': 'api.example.com',
  });
  const direct = clusterOf(
    sessionKubeconfig(admin({ server: 'https://api.example.com:6443' }), 't', 'ns'),
  );
  assert.equal(direct.server, 'https://api.example.com:6443');
  assert.equal(direct['tls-server-name'], undefined);
  const named = clusterOf(
    sessionKubeconfig(
      admin({ server: 'https://10.0.0.5:6443', tlsServerName: 'kubernetes.default' }),
      't',
      'ns',
      'https://127.0.0.1:6443',
    ),
  );
  assert.equal(named['tls-server-name'], 'kubernetes.default', "the cluster's own name is kept");
});

test("sessionKubeconfig: the cluster's proxy-url goes to a shell that reaches the cluster itself, not to one behind the relay", () => {
  const proxied = admin({
    server: 'https://api.example.com:6443',
    proxyUrl: 'http://proxy.corp:3128',
  });
  assert.equal(
    clusterOf(sessionKubeconfig(proxied, 't', 'ns'))['proxy-url'],
    'http://proxy.corp:3128',
  );
  assert.equal(
    clusterOf(sessionKubeconfig(proxied, 't', 'ns', 'https://127.0.0.1:6443'))['proxy-url'],
    undefined,
    'the relay goes through the proxy; the sandbox cannot reach it',
  );
});

/** Connects to the relay's socket, sends `text`, and collects what comes back until it ends. */
function through(socket: string, text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const client = connect(socket, () => client.write(text));
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.on('close', () => resolve(Buffer.concat(chunks)));
    client.on('error', reject);
  });
}

const quiet = { log: () => {} };
/** A session uid (the relay gives it the entrance when run as root). */
const UID = 1_900_600_001;

test('ApiRelay passes bytes both ways, and when the API server is down answers with a TLS alert', async () => {
  const state = mkdtempSync(join(tmpdir(), 'kubenotes-relay-'));
  const api = createServer((socket) => socket.once('data', (d) => socket.end(`echo:${d}`)));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const port = (api.address() as { port: number }).port;
  const relay = await ApiRelay.start(state, `https://127.0.0.1:${port}`, quiet);
  const entrance = await relay.open(UID);
  try {
    const stat = statSync(entrance.socket);
    assert.equal((stat.mode & 0o777).toString(8), '600', "the session's uid alone may connect");
    if (process.getuid?.() === 0) assert.equal(stat.uid, UID);
    assert.equal((await through(entrance.socket, 'hello')).toString(), 'echo:hello');
    await new Promise((resolve) => api.close(resolve));
    // kubectl then says "Unable to connect to the server: remote error: tls: internal error"
    // at once, instead of retrying a closed connection for its whole timeout.
    assert.deepEqual(
      [...(await through(entrance.socket, '\x16\x03\x01'))],
      [21, 3, 3, 0, 2, 2, 80],
    );
  } finally {
    await relay.dispose();
    await relay.dispose();
    rmSync(state, { recursive: true, force: true });
  }
  assert.equal(existsSync(entrance.socket), false, 'the socket is gone');
});

/** Opens `count` connections to `socket` and resolves once each is open or refused. */
async function connectMany(socket: string, count: number): Promise<Socket[]> {
  const opened: Socket[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const client = connect(socket, () => resolve());
          client.on('error', () => resolve());
          opened.push(client);
        }),
    ),
  );
  return opened;
}

test("ApiRelay: a session that floods the relay gets its cap of connections, and another session's still go through", async () => {
  const state = mkdtempSync(join(tmpdir(), 'kubenotes-relay-'));
  const reached = new Set<Socket>();
  const api = createServer((socket) => {
    reached.add(socket);
    socket.on('close', () => reached.delete(socket));
    socket.on('data', (d) => socket.write(`echo:${d}`));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const port = (api.address() as { port: number }).port;
  const lines: string[] = [];
  const relay = await ApiRelay.start(
    state,
    `https://127.0.0.1:${port}`,
    { log: (_level, event) => lines.push(event) },
    undefined,
    8,
  );
  const flooder = await relay.open(UID);
  const other = await relay.open(UID + 1);
  const flood = await connectMany(flooder.socket, 40);
  try {
    // Every connection the relay took is relayed; the rest were closed at once.
    for (let i = 0; i < 100 && reached.size < 8; i++) await sleep(20);
    await sleep(200);
    assert.equal(reached.size, 8, 'the API server holds the cap, not the flood');
    assert.ok(lines.includes('api_relay_session_full'), lines.join(','));
    const closed = flood.filter((client) => client.destroyed || client.readableEnded).length;
    assert.ok(closed >= 32, `the connections over the cap are closed (${closed} of 40)`);
    const reply = await new Promise<string>((resolve, reject) => {
      const client = connect(other.socket, () => client.write('hello'));
      client.once('data', (d) => {
        resolve(String(d));
        client.destroy();
      });
      client.on('error', reject);
    });
    assert.equal(reply, 'echo:hello');
    // Once the flood ends, the session gets its connections back.
    for (const client of flood) client.destroy();
    for (let i = 0; i < 100 && reached.size > 0; i++) await sleep(20);
    const again = await connectMany(flooder.socket, 1);
    for (let i = 0; i < 100 && reached.size < 1; i++) await sleep(20);
    assert.equal(reached.size, 1);
    for (const client of again) client.destroy();
  } finally {
    for (const client of flood) client.destroy();
    await relay.dispose();
    await new Promise((resolve) => api.close(resolve));
    rmSync(state, { recursive: true, force: true });
  }
  assert.equal(existsSync(flooder.socket), false, 'disposing the relay closes every entrance');
});
