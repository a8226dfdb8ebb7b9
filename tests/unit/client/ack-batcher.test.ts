import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_DELAY_MS, ACK_EVERY_BYTES, AckBatcher } from '../../../src/client/ack-batcher.ts';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('small renders are acknowledged together, shortly after', async () => {
  const sent: number[] = [];
  const acks = new AckBatcher((bytes) => sent.push(bytes));
  for (let i = 0; i < 10; i++) acks.rendered(1);
  assert.deepEqual(sent, []);
  await wait(ACK_DELAY_MS * 3);
  assert.deepEqual(sent, [10]);
});

test('a flood is acknowledged every 64 KiB, at once, and the rest after the delay', async () => {
  const sent: number[] = [];
  const acks = new AckBatcher((bytes) => sent.push(bytes));
  for (let i = 0; i < 20; i++) acks.rendered(8192);
  assert.deepEqual(sent, [ACK_EVERY_BYTES, ACK_EVERY_BYTES]);
  await wait(ACK_DELAY_MS * 3);
  assert.equal(
    sent.reduce((a, b) => a + b, 0),
    20 * 8192,
    'every byte is acknowledged exactly once',
  );
});

test('dispose forgets what waits: it belonged to a socket that is gone', async () => {
  const sent: number[] = [];
  const acks = new AckBatcher((bytes) => sent.push(bytes));
  acks.rendered(100);
  acks.dispose();
  await wait(ACK_DELAY_MS * 3);
  assert.deepEqual(sent, []);
});
