import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { apiEndpoint } from '../../sandbox-server/src/isolation/api-relay.ts';
import { sessionKubeconfig } from '../../sandbox-server/src/tenancy/session-kubeconfig.ts';

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

function admin(cluster: { server: string; tlsServerName?: string }): KubeConfig {
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
