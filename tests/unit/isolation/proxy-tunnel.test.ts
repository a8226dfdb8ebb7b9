/**
 * The relay to the API server through the cluster's proxy (kubeconfig `proxy-url`). The proxies
 * here are small ones written to RFC 7231 (CONNECT) and RFC 1928/1929 (SOCKS5) on real
 * sockets; the relay, the tunnel and the API server's end are the real code.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { ApiRelay } from '../../../sandbox-server/src/isolation/api-relay.ts';
import {
  connectRequest,
  parseProxyUrl,
  socksAddress,
} from '../../../sandbox-server/src/isolation/proxy-tunnel.ts';
import { startConnectProxy } from '../../support/connect-proxy.ts';

const proxyUrls: { url: string; want: ReturnType<typeof parseProxyUrl> | RegExp }[] = [
  {
    url: 'http://proxy.corp:3128',
    want: {
      kind: 'http',
      host: 'proxy.corp',
      port: 3128,
      username: undefined,
      password: undefined,
    },
  },
  {
    url: 'https://proxy.corp',
    want: {
      kind: 'https',
      host: 'proxy.corp',
      port: 443,
      username: undefined,
      password: undefined,
    },
  },
  {
    url: 'socks5://ann:p%40ss@[::1]:1081',
    want: { kind: 'socks5', host: '::1', port: 1081, username: 'ann', password: 'p@ss' },
  },
  {
    url: 'socks5h://gate',
    want: { kind: 'socks5', host: 'gate', port: 1080, username: undefined, password: undefined },
  },
  { url: 'socks4://gate:1080', want: /socks4 proxy; the relay .* speaks http, https and socks5/ },
  { url: 'proxy.corp:3128', want: /speaks http, https and socks5|not a URL/ },
  { url: '', want: /not a URL/ },
];
for (const { url, want } of proxyUrls) {
  test(`parseProxyUrl(${JSON.stringify(url)})`, () => {
    if (want instanceof RegExp) assert.throws(() => parseProxyUrl(url), want);
    else assert.deepEqual(parseProxyUrl(url), want);
  });
}

test('connectRequest names the API server, bracketed if IPv6, with credentials when given', () => {
  assert.equal(
    connectRequest(parseProxyUrl('http://p:3128'), { host: 'api.example.com', port: 6443 }),
    'CONNECT api.example.com:6443 HTTP/1.1\r\nHost: api.example.com:6443\r\n\r\n',
  );
  assert.equal(
    connectRequest(parseProxyUrl('http://ann:secret@p:3128'), { host: '::1', port: 6443 }),
    'CONNECT [::1]:6443 HTTP/1.1\r\nHost: [::1]:6443\r\n' +
      `Proxy-Authorization: Basic ${Buffer.from('ann:secret').toString('base64')}\r\n\r\n`,
  );
});

const socksAddresses: { host: string; want: number[] }[] = [
  { host: '10.0.0.5', want: [1, 10, 0, 0, 5] },
  { host: '::1', want: [4, ...Array(15).fill(0), 1] },
  { host: 'fd00:1::2', want: [4, 0xfd, 0, 0, 1, ...Array(10).fill(0), 0, 2] },
  { host: 'api.example.com', want: [3, 15, ...Buffer.from('api.example.com')] },
];
for (const { host, want } of socksAddresses) {
  test(`socksAddress(${JSON.stringify(host)})`, () => {
    assert.deepEqual([...socksAddress(host)], want);
  });
}

async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** An API server stand-in that answers the first bytes it gets, then hangs up. */
function echoApi(): Server {
  return createServer((socket) => socket.once('data', (d) => socket.end(`echo:${d}`)));
}

/** A SOCKS5 proxy (user name and password required) that notes the address it was asked for. */
function socksProxy(seen: string[]): Server {
  return createServer((client) => {
    let buffered = Buffer.alloc(0);
    let step = 0;
    client.on('data', function onData(chunk: Buffer) {
      buffered = Buffer.concat([buffered, chunk]);
      if (step === 0 && buffered.length >= 2 + buffered[1]!) {
        assert.ok([...buffered.subarray(2, 2 + buffered[1]!)].includes(2), 'offers user/password');
        buffered = buffered.subarray(2 + buffered[1]!);
        client.write(Buffer.from([5, 2]));
        step = 1;
      }
      if (step === 1 && buffered.length >= 2) {
        const userLength = buffered[1]!;
        if (buffered.length < 3 + userLength) return;
        const passwordLength = buffered[2 + userLength]!;
        if (buffered.length < 3 + userLength + passwordLength) return;
        const user = buffered.subarray(2, 2 + userLength).toString();
        const password = buffered.subarray(3 + userLength, 3 + userLength + passwordLength);
        seen.push(`login ${user}:${password}`);
        buffered = buffered.subarray(3 + userLength + passwordLength);
        client.write(Buffer.from([1, 0]));
        step = 2;
      }
      if (step === 2 && buffered.length >= 5) {
        const type = buffered[3]!;
        const length = type === 1 ? 4 : type === 4 ? 16 : 1 + buffered[4]!;
        if (buffered.length < 4 + length + 2) return;
        const address =
          type === 3
            ? buffered.subarray(5, 4 + length).toString()
            : [...buffered.subarray(4, 4 + length)].join('.');
        const port = buffered.readUInt16BE(4 + length);
        seen.push(`connect ${address}:${port}`);
        const rest = buffered.subarray(4 + length + 2);
        client.off('data', onData);
        const upstream = connect(port, '127.0.0.1', () => {
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          if (rest.length > 0) upstream.write(rest);
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
      }
    });
  });
}

/** Connects to the relay's socket, sends `text`, and collects what comes back until it ends. */
function through(socket: string, text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const client: Socket = connect(socket, () => client.write(text));
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.on('close', () => resolve(Buffer.concat(chunks)));
    client.on('error', reject);
  });
}

/** A session uid (the relay gives it the entrance when run as root). */
const UID = 1_900_600_001;

function recordingLog(lines: string[]) {
  return {
    log: (_level: string, event: string, fields?: object) =>
      lines.push(`${event} ${JSON.stringify(fields)}`),
  };
}

test('ApiRelay reaches the API server through an HTTP proxy, with its credentials', async () => {
  const state = mkdtempSync(join(tmpdir(), 'kubenotes-relay-'));
  const api = echoApi();
  const apiPort = await listening(api);
  const proxy = await startConnectProxy();
  const relay = await ApiRelay.start(
    state,
    `https://127.0.0.1:${apiPort}`,
    recordingLog([]),
    `http://ann:secret@127.0.0.1:${proxy.port}`,
  );
  const entrance = await relay.open(UID);
  try {
    assert.equal((await through(entrance.socket, 'hello')).toString(), 'echo:hello');
    assert.match(
      proxy.requests[0]!,
      new RegExp(`^CONNECT 127\\.0\\.0\\.1:${apiPort} HTTP/1\\.1\\r\\n`),
    );
    assert.match(proxy.requests[0]!, /Proxy-Authorization: Basic YW5uOnNlY3JldA==/);
  } finally {
    await relay.dispose();
    api.close();
    proxy.close();
    rmSync(state, { recursive: true, force: true });
  }
});

test('ApiRelay: a proxy that refuses the tunnel gets kubectl a TLS alert, and the log says why', async () => {
  const state = mkdtempSync(join(tmpdir(), 'kubenotes-relay-'));
  const proxy = await startConnectProxy({ refuse: '407 Proxy Authentication Required' });
  const lines: string[] = [];
  const relay = await ApiRelay.start(
    state,
    'https://api.example.com:6443',
    recordingLog(lines),
    `http://127.0.0.1:${proxy.port}`,
  );
  const entrance = await relay.open(UID);
  try {
    assert.deepEqual(
      [...(await through(entrance.socket, '\x16\x03\x01'))],
      [21, 3, 3, 0, 2, 2, 80],
    );
    assert.ok(
      lines.some((line) =>
        /api_relay_failed.*refused the tunnel: 407 Proxy Authentication/.test(line),
      ),
      lines.join('\n'),
    );
  } finally {
    await relay.dispose();
    proxy.close();
    rmSync(state, { recursive: true, force: true });
  }
});

test('ApiRelay reaches the API server through a SOCKS5 proxy, the host name resolved by the proxy', async () => {
  const state = mkdtempSync(join(tmpdir(), 'kubenotes-relay-'));
  const api = echoApi();
  const apiPort = await listening(api);
  const seen: string[] = [];
  const proxy = socksProxy(seen);
  const proxyPort = await listening(proxy);
  const relay = await ApiRelay.start(
    state,
    `https://localhost:${apiPort}`,
    recordingLog([]),
    `socks5://ann:p%40ss@127.0.0.1:${proxyPort}`,
  );
  const entrance = await relay.open(UID);
  try {
    assert.equal((await through(entrance.socket, 'hello')).toString(), 'echo:hello');
    assert.deepEqual(seen, ['login ann:p@ss', `connect localhost:${apiPort}`]);
  } finally {
    await relay.dispose();
    api.close();
    proxy.close();
    rmSync(state, { recursive: true, force: true });
  }
});

test('ApiRelay will not start with a proxy it cannot speak, and says which ones it can', async () => {
  const state = mkdtempSync(join(tmpdir(), 'kubenotes-relay-'));
  try {
    await assert.rejects(
      ApiRelay.start(state, 'https://api.example.com', recordingLog([]), 'socks4://gate:1080'),
      /proxy-url socks4:\/\/gate:1080 is a socks4 proxy; the relay to the API server speaks http, https and socks5/,
    );
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('ApiRelay reaches the API server through an HTTPS proxy, checking its certificate', async () => {
  const state = mkdtempSync(join(tmpdir(), 'kubenotes-relay-'));
  // A certificate for the proxy's address, trusted by this process only.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=test proxy',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(state, 'key.pem'),
      '-out',
      join(state, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const credentials = {
    key: readFileSync(join(state, 'key.pem'), 'utf8'),
    cert: readFileSync(join(state, 'cert.pem'), 'utf8'),
  };
  const api = echoApi();
  const apiPort = await listening(api);
  const proxy = await startConnectProxy({ tls: credentials });
  const lines: string[] = [];
  const relay = await ApiRelay.start(
    state,
    `https://127.0.0.1:${apiPort}`,
    recordingLog(lines),
    `https://127.0.0.1:${proxy.port}`,
  );
  const entrance = await relay.open(UID);
  const defaults = getCACertificates('default');
  try {
    // Not trusted yet: no tunnel, and the log says why.
    assert.deepEqual(
      [...(await through(entrance.socket, '\x16\x03\x01'))],
      [21, 3, 3, 0, 2, 2, 80],
    );
    assert.ok(
      lines.some((line) => /api_relay_failed.*certificate/i.test(line)),
      lines.join('\n'),
    );
    setDefaultCACertificates([...defaults, credentials.cert]);
    assert.equal((await through(entrance.socket, 'hello')).toString(), 'echo:hello');
    assert.deepEqual(proxy.targets(), [`127.0.0.1:${apiPort}`]);
  } finally {
    setDefaultCACertificates(defaults);
    await relay.dispose();
    api.close();
    proxy.close();
    rmSync(state, { recursive: true, force: true });
  }
});
