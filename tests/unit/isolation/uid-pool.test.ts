import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UidPool } from '../../../sandbox-server/src/isolation/uid-pool.ts';

test('hands out distinct uids from the range, and says clearly when it is used up', () => {
  const pool = new UidPool(5000, 5002);
  const taken = [pool.take(), pool.take(), pool.take()];
  assert.deepEqual(taken, [5000, 5001, 5002]);
  assert.equal(pool.inUse, 3);
  assert.throws(() => pool.take(), /All 3 sandbox uids \(5000-5002\) are in use/);
});

test('a released uid is reused last: fresh uids first, then the longest-released', () => {
  const pool = new UidPool(10, 14);
  const a = pool.take();
  const b = pool.take();
  pool.release(a);
  pool.release(b);
  assert.deepEqual([pool.take(), pool.take(), pool.take()], [12, 13, 14], 'never-used first');
  assert.equal(pool.take(), a, 'then the one released first');
  assert.equal(pool.take(), b);
});

test('never hands the same uid to two live sessions, whatever the order of take and release', () => {
  const pool = new UidPool(1, 8);
  const live = new Set<number>();
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 2000; i++) {
    if (live.size < 8 && (live.size === 0 || random() < 0.55)) {
      const uid = pool.take();
      assert.equal(live.has(uid), false, `uid ${uid} handed out twice`);
      live.add(uid);
    } else {
      const uid = [...live][Math.floor(random() * live.size)] as number;
      live.delete(uid);
      pool.release(uid);
    }
  }
});

test('releasing twice, or a uid it never gave, changes nothing', () => {
  const pool = new UidPool(1, 2);
  const a = pool.take();
  pool.release(a);
  pool.release(a);
  pool.release(99);
  assert.deepEqual([pool.take(), pool.take()], [2, 1]);
  assert.throws(() => pool.take(), /in use/);
});

test('refuses ranges that cannot be uids', () => {
  assert.throws(() => new UidPool(0, 10), /invalid/);
  assert.throws(() => new UidPool(10, 5), /invalid/);
  assert.throws(() => new UidPool(1.5, 5), /invalid/);
  assert.throws(() => new UidPool(10, 2 ** 32 - 1), /4294967294/);
});
