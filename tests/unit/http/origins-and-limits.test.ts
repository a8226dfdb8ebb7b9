import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../../sandbox-server/src/config/duration.ts';
import { isOriginAllowed } from '../../../sandbox-server/src/http/origins.ts';
import { clientAddress, RateLimiter } from '../../../sandbox-server/src/http/rate-limit.ts';

const originCases: [string, string | undefined, string, string[], boolean][] = [
  ['no Origin (not a browser)', undefined, 'sandbox:8080', [], true],
  ['own origin', 'http://sandbox:8080', 'sandbox:8080', [], true],
  ['localhost page by default', 'http://localhost:4321', 'sandbox:8080', [], true],
  ['127.0.0.1 page by default', 'http://127.0.0.1:3000', 'sandbox:8080', [], true],
  ['a foreign site', 'https://evil.example', 'sandbox:8080', [], false],
  ['a look-alike host', 'http://sandbox:8080.evil.example', 'sandbox:8080', [], false],
  ['a listed origin', 'https://guide.example', 'sandbox:8080', ['https://guide.example'], true],
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

for (const [name, origin, host, allowed, expected] of originCases) {
  test(`origin: ${name} → ${expected ? 'allowed' : 'refused'}`, () => {
    const headers = { host, ...(origin === undefined ? {} : { origin }) };
    assert.equal(isOriginAllowed(headers, allowed), expected);
  });
}

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
