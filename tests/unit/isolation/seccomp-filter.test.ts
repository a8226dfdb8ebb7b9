/**
 * The sandbox's seccomp filter, run on a small classic-BPF interpreter (the five instructions
 * the generator uses), for both architectures. The integration suite checks it in bwrap.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sandboxSeccompFilter } from '../../../sandbox-server/src/isolation/seccomp-filter.ts';

const ALLOW = 'allow';
const EPERM = 'EPERM';
const ENOSYS = 'ENOSYS';

/** What the filter answers for one call: allow, or the errno it returns. */
function run(filter: Buffer, call: { arch: number; nr: number; arg0?: number }): string {
  const data = Buffer.alloc(64);
  data.writeInt32LE(call.nr, 0);
  data.writeUInt32LE(call.arch, 4);
  data.writeUInt32LE((call.arg0 ?? 0) >>> 0, 16);
  let a = 0;
  for (let pc = 0; pc < filter.length / 8; ) {
    const code = filter.readUInt16LE(pc * 8);
    const jt = filter.readUInt8(pc * 8 + 2);
    const jf = filter.readUInt8(pc * 8 + 3);
    const k = filter.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) a = data.readUInt32LE(k);
    else if (code === 0x06) {
      if (k === 0x7fff0000) return ALLOW;
      assert.equal(k >>> 16, 0x0005, 'only SECCOMP_RET_ERRNO besides allow');
      return { 1: EPERM, 38: ENOSYS }[k & 0xffff] ?? `errno ${k & 0xffff}`;
    } else {
      const taken =
        code === 0x15
          ? a === k
          : code === 0x35
            ? a >>> 0 >= k
            : code === 0x45
              ? (a & k) !== 0
              : undefined;
      assert.notEqual(taken, undefined, `unknown instruction ${code.toString(16)} at ${pc}`);
      pc += 1 + (taken ? jt : jf);
      continue;
    }
    pc++;
  }
  throw new Error('the filter ran off its end');
}

const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNS = 0x00020000;
const ARCHES = [
  {
    arch: 'x64',
    audit: 0xc000003e,
    clone: 56,
    clone3: 435,
    unshare: 272,
    setns: 308,
    read: 0,
    keyctl: 250,
  },
  {
    arch: 'arm64',
    audit: 0xc00000b7,
    clone: 220,
    clone3: 435,
    unshare: 97,
    setns: 268,
    read: 63,
    keyctl: 219,
  },
];

for (const t of ARCHES) {
  test(`seccomp filter (${t.arch}): no new user namespace, no clone3, no setns; the rest passes`, () => {
    const filter = sandboxSeccompFilter(t.arch);
    const call = (nr: number, arg0?: number) =>
      run(filter, { arch: t.audit, nr, ...(arg0 === undefined ? {} : { arg0 }) });
    assert.equal(call(t.unshare, CLONE_NEWUSER), EPERM);
    assert.equal(call(t.unshare, CLONE_NEWUSER | CLONE_NEWNS), EPERM);
    assert.equal(call(t.clone, CLONE_NEWUSER | 17), EPERM);
    assert.equal(call(t.clone3), ENOSYS, 'glibc falls back to clone');
    assert.equal(call(t.setns), EPERM);
    assert.equal(call(t.keyctl), EPERM);
    // A fork, a thread, unshare of what needs privileges anyway (the kernel refuses it).
    assert.equal(call(t.clone, 0x01200011), ALLOW);
    assert.equal(call(t.clone, 0x003d0f00), ALLOW);
    assert.equal(call(t.unshare, CLONE_NEWNS), ALLOW);
    assert.equal(call(t.read), ALLOW);
    // Another ABI's numbers mean other calls: refused whole.
    assert.equal(run(filter, { arch: 0x40000003, nr: 310 }), ENOSYS, 'i386');
  });
}

test('seccomp filter (x64): x32 calls are refused', () => {
  const filter = sandboxSeccompFilter('x64');
  assert.equal(
    run(filter, { arch: 0xc000003e, nr: 0x40000000 + 272, arg0: CLONE_NEWUSER }),
    ENOSYS,
  );
});

test('seccomp filter: an architecture without a table is refused, by name', () => {
  assert.throws(() => sandboxSeccompFilter('riscv64'), /riscv64.*x64, arm64/);
});
