import assert from 'node:assert/strict';
import { lstatSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';
import {
  accountsInRange,
  checkSandboxHost,
  hardProcessLimit,
  hostSystemEntries,
  SandboxUnavailableError,
} from '../../../sandbox-server/src/isolation/host.ts';

test('missing tools or root are refused with what to do', () => {
  const expected =
    process.getuid?.() === 0
      ? /bubblewrap \(bwrap\) is not installed: apt-get install bubblewrap, or run in local mode/
      : /needs the server to run as root/;
  assert.throws(
    () => checkSandboxHost({ PATH: '/nonexistent' }, []),
    (error: Error) => error instanceof SandboxUnavailableError && expected.test(error.message),
  );
});

test('system folders: bound read-only, or the same symlink (merged /usr), missing ones left out', () => {
  const entries = hostSystemEntries(['/usr', '/bin', '/no-such-folder']);
  assert.deepEqual(entries[0], { kind: 'ro-bind', src: '/usr', dest: '/usr' });
  const bin = entries.find((e) => e.dest === '/bin');
  if (lstatSync('/bin').isSymbolicLink()) {
    assert.deepEqual(bin, { kind: 'symlink', target: readlinkSync('/bin'), dest: '/bin' });
  } else {
    assert.deepEqual(bin, { kind: 'ro-bind', src: '/bin', dest: '/bin' });
  }
  assert.equal(entries.length, 2);
});

test('the hard process limit, from /proc/self/limits', () => {
  const limits = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max cpu time              unlimited            unlimited            seconds   ',
    'Max processes             4096                 96364                processes ',
  ].join('\n');
  assert.equal(hardProcessLimit(limits), 96364);
  assert.equal(hardProcessLimit(limits.replace('96364', 'unlimited')), Infinity);
  assert.equal(hardProcessLimit(''), Infinity);
});

test('accounts of /etc/passwd inside the sandbox uid range are found', () => {
  const passwd =
    'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nsvc:x:200:1500::/:/bin/false\n';
  assert.deepEqual(accountsInRange(1000, 1999, passwd), ['alice (1000:1000)', 'svc (200:1500)']);
  assert.deepEqual(accountsInRange(1_900_000_000, 1_900_000_999, passwd), []);
});
