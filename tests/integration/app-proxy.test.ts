/**
 * The app route against the real API server of the test cluster: a participant opens their
 * Service or Pod through the proxy subresources with their own token; another participant's
 * apps, other namespaces and the API itself stay out of reach; every answer carries the
 * isolation headers; errors say what is wrong; and in Chromium the app cannot read the
 * sandbox origin's storage.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { chromium } from 'playwright';
import {
  type AppNetwork,
  appNetworkUnavailable,
  createAppNetwork,
} from '../support/app-network.ts';
import { type AppResponder, deployApp, startAppResponder } from '../support/app-responder.ts';
import { freePort } from '../support/free-port.ts';
import { type CreatedSession, createSession, endSession } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { currentContext, restrictedPodSpec } from '../support/workshop-server.ts';

const kubeconfig = process.env.KUBENOTES_TEST_KUBECONFIG;
const skip = !kubeconfig
  ? 'no test cluster: run through `npm test`, which starts it'
  : (appNetworkUnavailable() ?? false);
const context = kubeconfig ? currentContext(kubeconfig) : '';

function adminConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig ?? '');
  return config;
}

/**
 * A GET with the path exactly as given: fetch (WHATWG URL) would resolve `..` and `%2e%2e`
 * before sending, and a browser would too, but an attacker's client need not.
 */
function rawGet(base: string, path: string, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of [value ?? []].flat()) out.append(name, v);
        }
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: out }));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const ISOLATION = {
  'content-security-policy': 'sandbox allow-scripts allow-forms allow-popups',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** What every answer on the route must (and must not) carry. */
function assertIsolated(res: Response, what: string): void {
  for (const [name, value] of Object.entries(ISOLATION)) {
    assert.equal(res.headers.get(name), value, `${what}: ${name}`);
  }
  for (const name of [
    'set-cookie',
    'refresh',
    'clear-site-data',
    'strict-transport-security',
    'link',
    'access-control-allow-origin',
    'x-frame-options',
  ]) {
    assert.equal(res.headers.get(name), null, `${what}: ${name} must not pass`);
  }
  assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /allow-same-origin/);
}

describe('the app route on the test cluster', { skip }, () => {
  let server: TestServer;
  let a: CreatedSession;
  let b: CreatedSession;
  let network: AppNetwork;
  let appA: AppResponder;
  let appB: AppResponder;
  const instance = `i19${Date.now().toString(36)}`;
  const get = (
    session: CreatedSession | undefined,
    path: string,
    headers: Record<string, string> = {},
  ) =>
    rawGet(server.url, path, {
      ...(session ? { authorization: `Bearer ${session.token}` } : {}),
      ...headers,
    });
  before(async () => {
    server = await startTestServer([
      '--mode',
      'workshop',
      '--cluster',
      'existing',
      '--kubeconfig',
      kubeconfig ?? '',
      '--context',
      context,
      '--instance',
      instance,
      '--sandbox',
      'none',
      '--apps-timeout',
      '2s',
    ]);
    [a, b] = await Promise.all([createSession(server.url), createSession(server.url)]);
    network = await createAppNetwork();
    appA = await startAppResponder(network, 'app A');
    appB = await startAppResponder(network, 'app B');
    await Promise.all([
      deployApp(adminConfig(), a.namespace, 'web', appA.port, network.address),
      deployApp(adminConfig(), b.namespace, 'web', appB.port, network.address),
    ]);
  });
  after(async () => {
    for (const session of [a, b]) if (session) await endSession(server.url, session);
    await server?.stop();
    await appA?.close();
    await appB?.close();
    network?.close();
  });

  test("a participant opens their Service and their Pod with their own token; the app's links open through the route", async () => {
    const res = await get(a, `/apps/${a.id}/svc/web:80/`);
    assert.equal(res.status, 200);
    assertIsolated(res, 'service');
    const page = await res.text();
    assert.match(page, /Hello from app A/);
    // The API server rewrote the absolute links to its proxy path; they point at the route.
    assert.match(page, new RegExp(`href="/apps/${a.id}/svc/web:80/about"`));
    assert.match(page, new RegExp(`href="/apps/${a.id}/svc/web:80/style.css"`));
    assert.doesNotMatch(page, /\/api\/v1\//);

    const byPod = await get(a, `/apps/${a.id}/pod/web:${appA.port}/hello?x=1`);
    assert.equal(byPod.status, 200);
    assertIsolated(byPod, 'pod');
    assert.match(await byPod.text(), /Hello from app A.*path \/hello\?x=1/s);

    // By the port's name too, and a redirect stays on the route.
    const redirect = await get(a, `/apps/${a.id}/svc/web:http/redirect`);
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), `/apps/${a.id}/svc/web:http/landing`);
    assertIsolated(redirect, 'redirect');
    const noSlash = await get(a, `/apps/${a.id}/svc/web:80`);
    assert.equal(noSlash.status, 308);
    assert.equal(noSlash.headers.get('location'), `/apps/${a.id}/svc/web:80/`);
  });

  test('neither the reader’s cookies nor any credential reach the app', async () => {
    const res = await get(a, `/apps/${a.id}/svc/web:80/echo`, { cookie: 'kubenotes=secret' });
    assert.equal(res.status, 200);
    const seen = await res.json();
    assert.equal(seen.marker, 'app A');
    assert.equal(seen.headers.cookie, undefined);
    assert.equal(seen.headers.authorization, undefined);
    assert.doesNotMatch(JSON.stringify(seen), new RegExp(a.token));
  });

  test("A cannot open B's app: B's session id is 404 like one that does not exist; no or a made-up token is 401", async () => {
    const ofB = await get(a, `/apps/${b.id}/svc/web:80/`);
    const none = await get(a, '/apps/aaaaaaaaaaaaaaaa/svc/web:80/');
    assert.equal(ofB.status, 404);
    assert.equal(none.status, 404);
    assert.deepEqual(await ofB.json(), await none.json());
    assertIsolated(ofB, '404');
    assert.equal((await get(undefined, `/apps/${a.id}/svc/web:80/`)).status, 401);
    const madeUp = await get({ ...a, token: 'x'.repeat(43) }, `/apps/${a.id}/svc/web:80/`);
    assert.equal(madeUp.status, 401);
    assertIsolated(madeUp, '401');
    assert.equal((await madeUp.json()).error.code, 'bad_token');
  });

  test('links: one target of one session, no token needed; another session or target is 401', async () => {
    const made = await fetch(`${server.url}/api/sessions/${a.id}/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'svc/web:80' }),
    });
    assert.equal(made.status, 201);
    const { url, expiresAt } = await made.json();
    assert.ok(Date.parse(expiresAt) > Date.now());
    const opened = await fetch(`${server.url}${url}`);
    assert.equal(opened.status, 200);
    assertIsolated(opened, 'link');
    const page = await opened.text();
    assert.match(page, /Hello from app A/);
    assert.ok(page.includes(`href="${url}about"`), 'links keep the capability');

    const capability = url.split('/')[3];
    assert.equal((await fetch(`${server.url}/apps/${b.id}/${capability}/svc/web:80/`)).status, 401);
    assert.equal((await fetch(`${server.url}/apps/${a.id}/${capability}/svc/web:81/`)).status, 401);
    // B's token cannot make links for A.
    const forA = await fetch(`${server.url}/api/sessions/${a.id}/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'svc/web:80' }),
    });
    assert.equal(forA.status, 401);
    const bad = await fetch(`${server.url}/api/sessions/${a.id}/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'deploy/web:80' }),
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error.message, /svc\/NAME:PORT/);
  });

  test('errors a person understands, as a page or as JSON', async () => {
    const core = adminConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: a.namespace,
      body: {
        metadata: { name: 'idle' },
        spec: { selector: { app: 'nothing' }, ports: [{ port: 80 }] },
      },
    });
    await core.createNamespacedService({
      namespace: a.namespace,
      body: {
        metadata: { name: 'closed' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 1 }] },
      },
    });
    await core.createNamespacedPod({
      namespace: a.namespace,
      body: {
        metadata: { name: 'waiting' },
        spec: {
          nodeSelector: { 'kubenotes.dev/no-such-node': 'true' },
          ...restrictedPodSpec('web'),
        },
      },
    });
    const html = { accept: 'text/html' };
    const cases: [string, number, string, RegExp][] = [
      ['svc/nope:80/', 404, 'app_not_found', /There is no Service nope in your namespace/],
      ['svc/idle:80/', 503, 'app_not_ready', /has no ready Pod behind it/],
      ['svc/web:81/', 502, 'app_wrong_port', /has no port 81/],
      ['svc/closed:80/', 502, 'app_wrong_port', /Nothing answers on port 80/],
      ['pod/waiting:80/', 503, 'app_not_ready', /is not running \(it is Pending\)/],
      ['svc/web:80/slow', 504, 'app_timeout', /took more than 2 s to answer/],
      ['svc/web:80/big', 502, 'app_too_large', /more than 16 MiB/],
      ['svc/web:80/bightml', 502, 'app_too_large', /more than 16 MiB/],
      ['svc/web:80/a/%2e%2e/%2e%2e/x', 400, 'bad_request', /encoded slashes, backslashes, dots/],
      ['svc/web:80/a/..%2fx', 400, 'bad_request', /encoded slashes/],
    ];
    for (const [target, status, code, message] of cases) {
      const json = await get(a, `/apps/${a.id}/${target}`);
      assert.equal(json.status, status, target);
      assertIsolated(json, target);
      const body = await json.json();
      assert.equal(body.error.code, code, target);
      assert.match(body.error.message, message, target);
      const page = await get(a, `/apps/${a.id}/${target}`, html);
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(await page.text(), /<h1>Cannot open the app<\/h1>/);
    }
    const post = await fetch(`${server.url}/apps/${a.id}/svc/web:80/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token}` },
    });
    assert.equal(post.status, 405);
  });

  test('the API server refusing (RBAC) is shown with its reason', async () => {
    // A session of its own, whose Role loses the proxy rule.
    const r = await createSession(server.url);
    const rbac = adminConfig().makeApiClient(RbacAuthorizationV1Api);
    const role = await rbac.readNamespacedRole({ name: 'participant', namespace: r.namespace });
    await rbac.replaceNamespacedRole({
      name: 'participant',
      namespace: r.namespace,
      body: {
        ...role,
        rules: (role.rules ?? []).filter((rule) => !rule.resources?.includes('services/proxy')),
      },
    });
    let res: Response | undefined;
    for (let i = 0; i < 50; i++) {
      res = await get(r, `/apps/${r.id}/svc/web:80/`);
      if (res.status === 403) break;
      await sleep(100);
    }
    assert.equal(res?.status, 403);
    const body = await res?.json();
    assert.equal(body.error.code, 'app_refused');
    assert.match(body.error.message, /refused to open The Service web: .*forbidden/i);
    await endSession(server.url, r);
  });

  test('fuzz: paths and queries never reach B, another namespace or the API; every answer is isolated', async () => {
    const pieces = [
      '..',
      '.',
      '%2e%2e',
      '%2E',
      '%2f',
      '%2F',
      '%5c',
      '\\',
      '//',
      'x',
      b.namespace,
      a.namespace,
      'namespaces',
      'services',
      'web:80',
      'proxy',
      'api',
      'v1',
      'pods',
      'secrets',
      '%00',
      '%0d%0a',
      ';',
      '?',
      '&',
      '=',
      'path=/api/v1/namespaces',
      '%3f',
      '%25',
      ':',
      '@',
      'kube-system',
      'echo',
    ];
    let seed = 1919;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = () => pieces[Math.floor(random() * pieces.length)] ?? '';
    // A session of its own: the fuzz spends most of a session's request budget.
    const f = await createSession(server.url);
    const appF = await startAppResponder(network, 'app F');
    await deployApp(adminConfig(), f.namespace, 'web', appF.port, network.address);
    let reached = 0;
    for (let i = 0; i < 250; i++) {
      const suffix = Array.from({ length: 1 + Math.floor(random() * 5) }, pick).join(
        random() < 0.6 ? '/' : '',
      );
      const res = await get(f, `/apps/${f.id}/svc/web:80/${suffix}`).catch(() => undefined);
      if (!res) continue; // refused by the client library: never sent
      assertIsolated(res, suffix);
      const body = await res.text();
      assert.doesNotMatch(body, /app B/, suffix);
      assert.doesNotMatch(body, /"kind":\s*"(\w+List|Secret|Namespace|Status)"/, suffix);
      if (res.status === 200) {
        assert.match(body, /app F/, suffix);
        reached++;
      } else {
        assert.ok(
          [400, 404, 429].includes(res.status) || res.status >= 500,
          `${suffix}: ${res.status}`,
        );
      }
    }
    assert.ok(reached > 20, `only ${reached} fuzzed requests reached the app`);
    assert.ok(appB.paths.length === 0, `B's app was reached: ${appB.paths.join(' ')}`);
    await endSession(server.url, f);
    await appF.close();
  });

  test('WebSocket upgrades on the route are refused with a reason', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/apps/${a.id}/svc/web:80/`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.on('response', (r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(answer.status, 501);
    assert.match(answer.body, /WebSockets do not pass through/);
  });

  test("in Chromium, an app opened through the route cannot read the sandbox origin's storage", async () => {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--headless'],
    });
    try {
      const page = await browser.newPage();
      // The sandbox's origin, with a secret in its storage (as the session token is).
      await page.goto(`${server.url}/api/health`);
      await page.evaluate(() => localStorage.setItem('kubenotes-secret', 'token-123'));
      // Control: a page of this origin without the route's headers reads it.
      assert.equal(
        await page.evaluate(() => localStorage.getItem('kubenotes-secret')),
        'token-123',
      );
      const made = await fetch(`${server.url}/api/sessions/${a.id}/apps`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'svc/web:80' }),
      });
      const { url } = await made.json();
      await page.goto(`${server.url}${url}storage`);
      await page.waitForFunction(() => document.title !== 'pending');
      assert.equal(await page.title(), 'blocked:SecurityError');
      // Nor can it call the sandbox's API as the reader: its origin is opaque ("null").
      const status = await page.evaluate(async () => {
        try {
          return (await fetch('/api/sessions', { method: 'POST' })).status;
        } catch {
          return 'blocked';
        }
      });
      assert.ok(status === 'blocked' || status === 403, String(status));
    } finally {
      await browser.close();
    }
  });
});

describe('local mode, apps on an origin of their own (--apps-origin)', { skip }, () => {
  let server: TestServer;
  let network: AppNetwork;
  let app: AppResponder;
  let dir: string;
  const namespace = `i19-local-${Date.now().toString(36)}`;

  before(async () => {
    // The local cluster's credentials, pinned to a namespace of this test's own.
    const admin = adminConfig();
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const local = new KubeConfig();
    local.loadFromOptions({
      clusters: admin.clusters,
      users: admin.users,
      contexts: admin.contexts.map((c) => (c.name === context ? { ...c, namespace } : c)),
      currentContext: context,
    });
    dir = mkdtempSync(join(tmpdir(), 'kubenotes-i19-'));
    writeFileSync(join(dir, 'kubeconfig'), local.exportConfig(), { mode: 0o600 });
    network = await createAppNetwork();
    app = await startAppResponder(network, 'the local app');
    await deployApp(admin, namespace, 'web', app.port, network.address);
    const port = await freePort();
    server = await startTestServer([
      '--port',
      String(port),
      '--cluster',
      'existing',
      '--kubeconfig',
      join(dir, 'kubeconfig'),
      '--context',
      context,
      '--apps-origin',
      `http://localhost:${port}`,
    ]);
  });
  after(async () => {
    await server?.stop();
    await app?.close();
    network?.close();
    await adminConfig()
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: namespace })
      .catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('links point at the apps origin, which serves the app and nothing else; the guide origin refuses apps', async () => {
    const session = await createSession(server.url);
    assert.equal(session.namespace, namespace);
    const made = await fetch(`${server.url}/api/sessions/${session.id}/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'svc/web:80' }),
    });
    const { url } = await made.json();
    const appsOrigin = `http://localhost:${new URL(server.url).port}`;
    assert.ok(url.startsWith(`${appsOrigin}/apps/${session.id}/`), url);
    const path = new URL(url).pathname;

    const opened = await rawGet(server.url, path, { host: new URL(appsOrigin).host });
    assert.equal(opened.status, 200);
    assertIsolated(opened, 'apps origin');
    assert.match(await opened.text(), /Hello from the local app/);

    const onGuideOrigin = await rawGet(server.url, path, {});
    assert.equal(onGuideOrigin.status, 404);
    assert.match(
      (await onGuideOrigin.json()).error.message,
      /Apps are opened from http:\/\/localhost/,
    );
    const apiOnAppsOrigin = await rawGet(server.url, '/api/health', {
      host: new URL(appsOrigin).host,
    });
    assert.equal(apiOnAppsOrigin.status, 404);
    await endSession(server.url, session);
  });
});
