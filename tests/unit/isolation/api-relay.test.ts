import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
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

test('ApiRelay passes bytes both ways, and when the API server is down answers with a TLS alert', async () => {
  const state = mkdtempSync(join(tmpdir(), 'kubenotes-relay-'));
  const api = createServer((socket) => socket.once('data', (d) => socket.end(`echo:${d}`)));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const port = (api.address() as { port: number }).port;
  const relay = await ApiRelay.start(state, `https://127.0.0.1:${port}`, quiet);
  try {
    assert.equal(
      (statSync(relay.socket).mode & 0o777).toString(8),
      '666',
      'any session uid may connect',
    );
    assert.equal((await through(relay.socket, 'hello')).toString(), 'echo:hello');
    await new Promise((resolve) => api.close(resolve));
    // kubectl then says "Unable to connect to the server: remote error: tls: internal error"
    // at once, instead of retrying a closed connection for its whole timeout.
    assert.deepEqual([...(await through(relay.socket, '\x16\x03\x01'))], [21, 3, 3, 0, 2, 2, 80]);
  } finally {
    await relay.dispose();
    await relay.dispose();
    rmSync(state, { recursive: true, force: true });
  }
  assert.equal(existsSync(relay.socket), false, 'the socket is gone');
});
