import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OutputFrames } from '../../../sandbox-server/src/session/output-frames.ts';

const options = { maxFrameBytes: 64 * 1024, streamingDelayMs: 2, streamingBytes: 2048 };
const read = (size: number, fill = 'k') => Buffer.alloc(size, fill);
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recorder() {
  const frames: Buffer[] = [];
  const batcher = new OutputFrames((frame) => frames.push(frame), options);
  return { frames, batcher };
}

describe('OutputFrames: how a shell output is cut into frames', () => {
  test('an echo goes out at once, in the same call', () => {
    const { frames, batcher } = recorder();
    batcher.push(Buffer.from('x'));
    assert.deepEqual(frames.map(String), ['x']);
    batcher.push(Buffer.from('y'));
    assert.deepEqual(frames.map(String), ['x', 'y']);
  });

  test('typing fast never counts as streaming', () => {
    const { frames, batcher } = recorder();
    for (let i = 0; i < 500; i++) batcher.push(Buffer.from('x'));
    assert.equal(frames.length, 500);
  });

  test('a flood: the first read goes at once, the next reads share one frame, in order', async () => {
    const { frames, batcher } = recorder();
    batcher.push(read(4096, 'a'));
    assert.equal(frames.length, 1);
    for (const fill of 'bcdefgh') batcher.push(read(4096, fill));
    assert.equal(frames.length, 1, 'the later reads wait to fill a frame');
    await wait(20);
    assert.equal(frames.length, 2);
    assert.equal(
      Buffer.concat(frames).toString(),
      [...'abcdefgh'].map((c) => c.repeat(4096)).join(''),
    );
  });

  test('a full frame goes without waiting', () => {
    const { frames, batcher } = recorder();
    batcher.push(read(4096));
    for (let i = 0; i < 16; i++) batcher.push(read(4096));
    assert.equal(frames.length, 2);
    assert.equal(frames[1]!.length, 64 * 1024);
  });

  test('after the flood stops, output trickles out at once again', async () => {
    const { frames, batcher } = recorder();
    batcher.push(read(4096));
    batcher.push(read(4096));
    await wait(20);
    const before = frames.length;
    batcher.push(Buffer.from('$ '));
    assert.equal(frames.length, before + 1);
  });

  test('flush sends what waits (before a message that must follow it)', () => {
    const { frames, batcher } = recorder();
    batcher.push(read(4096));
    batcher.push(read(100, 'z'));
    batcher.flush();
    assert.equal(frames.length, 2);
    assert.equal(frames[1]!.toString(), 'z'.repeat(100));
  });

  test('dispose drops what waits and sends nothing more; twice is fine', async () => {
    const { frames, batcher } = recorder();
    batcher.push(read(4096));
    batcher.push(read(4096));
    batcher.dispose();
    batcher.dispose();
    batcher.push(Buffer.from('late'));
    await wait(20);
    assert.equal(frames.length, 1);
  });
});
