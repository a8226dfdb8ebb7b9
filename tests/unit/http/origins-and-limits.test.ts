import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../../sandbox-server/src/config/duration.ts';
import { isOriginAllowed, originPolicy } from '../../../sandbox-server/src/http/origins.ts';
import { clientAddress } from '../../../sandbox-server/src/http/rate-limit.ts';
import { RateLimiter } from '../../../sandbox-server/src/limits/rate-limiter.ts';

type Mode = 'local' | 'workshop';
const originCases: [string, string | undefined, string, string[], boolean, Mode?][] = [
  ['no Origin (not a browser)', undefined, 'sandbox:8080', [], true],
  ['own origin', 'http://sandbox:8080', 'sandbox:8080', [], true],
  ['own origin by address', 'http://10.0.0.5:8080', '10.0.0.5:8080', [], true],
  ['localhost page by default (local mode)', 'http://localhost:4321', 'sandbox:8080', [], true],
  ['127.0.0.1 page by default (local mode)', 'http://127.0.0.1:3000', 'sandbox:8080', [], true],
  [
    'a localhost page in a workshop',
    'http://localhost:4321',
    'sandbox:8080',
    [],
    false,
    'workshop',
  ],
  ['own origin in a workshop', 'http://sandbox:8080', 'sandbox:8080', [], true, 'workshop'],
  // DNS rebinding: the attacker's name resolves to this server; Origin and Host agree.
  ['a rebound name (Host not ours)', 'http://evil.example:8080', 'evil.example:8080', [], false],
  [
    'a rebound name in a workshop',
    'http://rebind.evil.example',
    'rebind.evil.example',
    [],
    false,
    'workshop',
  ],
  ['a foreign site', 'https://evil.example', 'sandbox:8080', [], false],
  ['a look-alike host', 'http://sandbox:8080.evil.example', 'sandbox:8080', [], false],
  ['a listed origin', 'https://guide.example', 'sandbox:8080', ['https://guide.example'], true],
  [
    "a proxy's name, given as an allowed origin",
    'https://workshop.example',
    'workshop.example',
    ['https://workshop.example'],
    true,
    'workshop',
  ],
  [
    'localhost once a list is set',
    'http://localhost:4321',
    'sandbox:8080',
    ['https://guide.example'],
    false,
  ],
  [
    'own origin once a list is set',
    'http://sandbox:8080',
    'sandbox:8080',
    ['https://guide.example'],
    true,
  ],
  ['the null origin', 'null', 'sandbox:8080', [], false],
  ['a wildcard', 'https://any.example', 'sandbox:8080', ['*'], true],
];

for (const [name, origin, host, allowed, expected, mode = 'local'] of originCases) {
  test(`origin: ${name} → ${expected ? 'allowed' : 'refused'}`, () => {
    const headers = { host, ...(origin === undefined ? {} : { origin }) };
    const policy = originPolicy({ allowedOrigins: allowed, host: '0.0.0.0', mode });
    // The machine's names: as if it were called sandbox, with the address 10.0.0.5.
    const names = new Set([...policy.names, 'sandbox', '10.0.0.5']);
    assert.equal(isOriginAllowed(headers, { ...policy, names }), expected);
  });
}

test("originPolicy: the server's names are loopback, its listen address, the machine's names and addresses", () => {
  const policy = originPolicy({ allowedOrigins: [], host: '192.0.2.7', mode: 'workshop' });
  for (const name of ['localhost', '127.0.0.1', '::1', '192.0.2.7']) {
    assert.ok(policy.names.has(name), name);
  }
  assert.equal(policy.names.has('evil.example'), false);
  assert.equal(policy.loopbackPages, false);
});

test('durations', () => {
  const cases: [string | number, number | null][] = [
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['4h', 14_400_000],
    ['500ms', 500],
    ['1.5s', 1500],
    [250, 250],
    ['250', 250],
    ['soon', null],
    ['-1s', null],
    ['', null],
    [-5, null],
  ];
  for (const [input, expected] of cases)
    assert.equal(parseDuration(input), expected, String(input));
});

test('rate limit: a client gets its budget per minute, then a Retry-After; others are unaffected', () => {
  const limiter = new RateLimiter(3);
  const now = 1_000_000;
  for (let i = 0; i < 3; i++) assert.deepEqual(limiter.take('a', now), { ok: true });
  const over = limiter.take('a', now);
  assert.equal(over.ok, false);
  if (!over.ok) assert.equal(over.retryAfterSeconds, 20);
  assert.deepEqual(limiter.take('b', now), { ok: true });
  assert.deepEqual(limiter.take('a', now + 20_000), { ok: true });
});

test('client address: a forwarded address is used only behind a trusted proxy', () => {
  assert.equal(clientAddress('10.0.0.1', '203.0.113.9, 10.0.0.1', false), '10.0.0.1');
  assert.equal(clientAddress('10.0.0.1', '203.0.113.9, 10.0.0.1', true), '203.0.113.9');
  assert.equal(clientAddress(undefined, undefined, true), 'unknown');
});
