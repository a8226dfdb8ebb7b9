import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppCapabilities } from '../../../sandbox-server/src/http/app-capability.ts';
import {
  forwardedRequestHeaders,
  passedResponseHeaders,
} from '../../../sandbox-server/src/http/app-response.ts';
import { parseAppRoute, proxyPath } from '../../../sandbox-server/src/http/app-route.ts';
import { parseAppTarget } from '../../../sandbox-server/src/shared/app-target.ts';

test('svc/NAME:PORT and pod/NAME:PORT parse; other shapes say what is expected', () => {
  assert.deepEqual(parseAppTarget('svc/web:80'), {
    ok: true,
    target: { kind: 'svc', name: 'web', port: '80' },
  });
  assert.deepEqual(parseAppTarget('svc/web:http'), {
    ok: true,
    target: { kind: 'svc', name: 'web', port: 'http' },
  });
  assert.equal(parseAppTarget('pod/web-7d9f.x:8080').ok, true);
  for (const bad of [
    'deploy/web:80',
    'svc/web',
    'svc/Web:80',
    'svc/web:0',
    'svc/web:65536',
    'svc/-web:80',
    'svc/web.x:80',
    'pod/web:http',
    'svc/web:80:81',
    'svc/../x:80',
    'svc/web:ht--tp',
  ]) {
    const result = parseAppTarget(bad);
    assert.equal(result.ok, false, bad);
    assert.ok(!result.ok && result.error.length > 10);
  }
});

test('the route: session, optional link, target, path and query', () => {
  const parsed = parseAppRoute('/apps/abc/svc/web:80/static/app.css?v=2');
  assert.ok(parsed.ok);
  assert.equal(parsed.route.sessionId, 'abc');
  assert.equal(parsed.route.capability, undefined);
  assert.equal(parsed.route.path, 'static/app.css');
  assert.equal(parsed.route.query, 'v=2');
  assert.equal(parsed.route.base, '/apps/abc/svc/web:80');
  assert.equal(parsed.route.needsSlash, false);

  const linked = parseAppRoute(`/apps/abc/${'k0x1'}.${'a'.repeat(32)}/pod/web:8080`);
  assert.ok(linked.ok);
  assert.equal(linked.route.capability, `k0x1.${'a'.repeat(32)}`);
  assert.equal(linked.route.needsSlash, true);
  assert.equal(
    proxyPath('kn-abc', linked.route.target),
    '/api/v1/namespaces/kn-abc/pods/web:8080/proxy',
  );
});

test('fuzz: no path or query makes the proxy path leave the target, or is refused', () => {
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
    '/',
    'kn-other',
    'namespaces',
    'services',
    'pods',
    'proxy',
    'api',
    'v1',
    '%00',
    '%0a',
    '%',
    '%zz',
    ';',
    '?',
    '#',
    '&',
    '=',
    'svc',
    'pod',
    'web:80',
    ':',
    '@',
    '~',
    'a b',
    '\u00e9',
    '%25',
    '%3f',
    'x',
  ];
  let seed = 19;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = () => pieces[Math.floor(random() * pieces.length)] ?? '';
  for (let i = 0; i < 20_000; i++) {
    const suffix = Array.from({ length: 1 + Math.floor(random() * 6) }, pick).join(
      random() < 0.5 ? '/' : '',
    );
    const url = `/apps/abc/svc/web:80/${suffix}`;
    const parsed = parseAppRoute(url);
    if (!parsed.ok) continue;
    const { route } = parsed;
    // What reaches the API server: the target's proxy path, then the app's path.
    assert.equal(route.sessionId, 'abc', url);
    assert.deepEqual(route.target, { kind: 'svc', name: 'web', port: '80' }, url);
    const segments = route.path.split('/');
    assert.ok(!segments.includes('..') && !segments.includes('.'), url);
    assert.ok(!/%(2f|5c|2e|00)/i.test(route.path), url);
    assert.ok(!route.path.includes('\\') && !route.path.includes('//'), url);
    assert.ok(!/[\s#]/.test(route.path + route.query), url);
    const resolved = new URL(`${proxyPath('kn-abc', route.target)}/${route.path}`, 'https://api');
    assert.ok(
      resolved.pathname.startsWith('/api/v1/namespaces/kn-abc/services/web:80/proxy/'),
      url,
    );
  }
});

test('links open one target of one session until they expire', () => {
  const links = new AppCapabilities();
  const web = { kind: 'svc' as const, name: 'web', port: '80' };
  const now = Date.UTC(2026, 0, 1);
  const { capability, expiresAt } = links.mint('abc', web, now);
  assert.ok(AppCapabilities.looksLike(capability));
  assert.equal(links.check(capability, 'abc', web, now), 'ok');
  assert.equal(links.check(capability, 'abd', web, now), 'invalid');
  assert.equal(links.check(capability, 'abc', { ...web, port: '81' }, now), 'invalid');
  assert.equal(links.check(capability, 'abc', { ...web, kind: 'pod' }, now), 'invalid');
  assert.equal(links.check(capability, 'abc', web, expiresAt + 1), 'expired');
  // Another server's key (a restart): not valid.
  assert.equal(new AppCapabilities().check(capability, 'abc', web, now), 'invalid');
  // The expiry cannot be stretched: it is under the MAC.
  const [, mac] = capability.split('.');
  assert.equal(links.check(`zzzzzzz.${mac}`, 'abc', web, now), 'invalid');
});

test("of the app's headers only the allow-list passes, and the isolation headers are always set", () => {
  const out = passedResponseHeaders(
    {
      'content-type': 'text/html',
      etag: '"x"',
      location: '/api/v1/namespaces/kn-a/services/web:80/proxy/next',
      'set-cookie': ['a=1; Domain=sandbox.example'],
      refresh: '0; url=/api/sessions',
      'clear-site-data': '"*"',
      'strict-transport-security': 'max-age=1',
      link: '</x.js>; rel=preload',
      'access-control-allow-origin': '*',
      'content-security-policy': 'sandbox allow-same-origin allow-scripts',
      'service-worker-allowed': '/',
      nel: '{}',
      'report-to': '{}',
    },
    (location) =>
      location.replace('/api/v1/namespaces/kn-a/services/web:80/proxy', '/apps/a/svc/web:80'),
  );
  assert.deepEqual(Object.keys(out).sort(), [
    'cache-control',
    'content-security-policy',
    'content-type',
    'cross-origin-resource-policy',
    'etag',
    'location',
    'permissions-policy',
    'referrer-policy',
    'x-content-type-options',
  ]);
  assert.equal(out['content-security-policy'], 'sandbox allow-scripts allow-forms allow-popups');
  assert.equal(out.location, '/apps/a/svc/web:80/next');
  assert.deepEqual(
    Object.keys(
      forwardedRequestHeaders({
        cookie: 'k=v',
        authorization: 'Bearer t',
        accept: 'text/html',
        origin: 'https://x',
        referer: 'https://x/apps/a/k/svc/web:80/',
      }),
    ).sort(),
    ['accept', 'accept-encoding'],
  );
});
