/**
 * Join codes behind one address (a venue behind NAT): only wrong codes spend the address's
 * budget, and a code with seats admits that many live sessions at most.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJoinCodes } from '../../sandbox-server/src/http/join-codes.ts';
import { startTestServer } from '../support/test-server.ts';

async function join(url: string, joinCode: string) {
  const res = await fetch(`${url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinCode }),
  });
  const body = await res.json();
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
}

test('parseJoinCodes: "code" and "code:seats"; a colon inside a code stays in it', () => {
  assert.deepEqual(parseJoinCodes(['spring', 'room-a:12', 'a:b', 'x:y:3']), [
    { code: 'spring', seats: undefined },
    { code: 'room-a', seats: 12 },
    { code: 'a:b', seats: undefined },
    { code: 'x:y', seats: 3 },
  ]);
  assert.throws(() => parseJoinCodes(['room:0']), /"room" has 0 seats/);
});

test('a room behind one address joins with the right code past the per-address budget; wrong codes spend it', async () => {
  const server = await startTestServer([
    '--sessions-per-minute',
    '3',
    '--max-sessions',
    '10',
    '--join-code',
    'open-room',
  ]);
  try {
    // Five people behind the same NAT, all with the right code: none throttled.
    for (let i = 0; i < 5; i++) {
      const joined = await join(server.url, 'open-room');
      assert.equal(joined.status, 201, `join ${i + 1}: ${JSON.stringify(joined.body)}`);
    }
    // Wrong codes spend the budget (3 a minute here)…
    for (let i = 0; i < 3; i++) assert.equal((await join(server.url, 'guess')).status, 401);
    const over = await join(server.url, 'guess');
    assert.equal(over.status, 429);
    assert.ok(Number(over.retryAfter) > 0);
    assert.match(over.body.error.message, /wrong join codes/);
    // …and then every attempt from that address waits, so the answers cannot tell a guesser
    // which code is right.
    assert.equal((await join(server.url, 'open-room')).status, 429);
  } finally {
    await server.stop();
  }
});

test('--join-code code:seats: the code admits that many live sessions; a seat frees when one ends', async () => {
  const server = await startTestServer([
    '--max-sessions',
    '10',
    '--join-code',
    'table-1:2',
    '--join-code',
    'table-2',
  ]);
  try {
    const [first, second] = await Promise.all([
      join(server.url, 'table-1'),
      join(server.url, 'table-1'),
    ]);
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    const third = await join(server.url, 'table-1');
    assert.equal(third.status, 403);
    assert.equal(third.body.error.code, 'join_code_full');
    assert.match(third.body.error.message, /seat/);
    assert.equal((await join(server.url, 'table-2')).status, 201, 'other codes are not affected');
    const ended = await fetch(`${server.url}/api/sessions/${first.body.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${first.body.token}` },
    });
    assert.equal(ended.status, 204);
    assert.equal((await join(server.url, 'table-1')).status, 201);
  } finally {
    await server.stop();
  }
});
