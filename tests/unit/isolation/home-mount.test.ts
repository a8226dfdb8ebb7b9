import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  homeMountOptions,
  type MountEntry,
  mountsUnder,
  parseMountInfo,
} from '../../../sandbox-server/src/isolation/home-mount.ts';

const cases: { name: string; line: string; want: MountEntry[] }[] = [
  {
    name: 'a home of ours',
    line: '812 30 0:91 / /tmp/kubenotes-41/sessions/ab12 rw,nosuid,nodev,relatime shared:415 - tmpfs kubenotes-home@4242:123456 rw,size=262144k,mode=700',
    want: [
      {
        mountPoint: '/tmp/kubenotes-41/sessions/ab12',
        fsType: 'tmpfs',
        source: 'kubenotes-home@4242:123456',
      },
    ],
  },
  {
    name: 'no optional fields',
    line: '25 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
    want: [{ mountPoint: '/', fsType: 'ext4', source: '/dev/sda1' }],
  },
  {
    name: 'several optional fields',
    line: '40 25 0:35 / /sys/fs/cgroup rw shared:9 master:3 propagate_from:2 - cgroup2 cgroup2 rw',
    want: [{ mountPoint: '/sys/fs/cgroup', fsType: 'cgroup2', source: 'cgroup2' }],
  },
  {
    name: 'a space and a backslash in the path, escaped',
    line: '90 25 0:50 / /srv/my\\040state/a\\134b rw - tmpfs tmpfs rw',
    want: [{ mountPoint: '/srv/my state/a\\b', fsType: 'tmpfs', source: 'tmpfs' }],
  },
  { name: 'a line without the separator', line: '90 25 0:50 / /x rw tmpfs tmpfs rw', want: [] },
  { name: 'an empty line', line: '', want: [] },
];
for (const { name, line, want } of cases) {
  test(`parseMountInfo: ${name}`, () => assert.deepEqual(parseMountInfo(line), want));
}

test('mountsUnder: the folder and what is below it, deepest first; not a sibling with the same start', () => {
  const entry = (mountPoint: string): MountEntry => ({ mountPoint, fsType: 'tmpfs', source: 'x' });
  const all = [
    entry('/'),
    entry('/state/sessions'),
    entry('/state/sessions/a'),
    entry('/state/sessions/a/deeper'),
    entry('/state/sessions-old/b'),
    entry('/state/sessionsb'),
  ];
  assert.deepEqual(
    mountsUnder(all, '/state/sessions/').map((e) => e.mountPoint),
    ['/state/sessions/a/deeper', '/state/sessions/a', '/state/sessions'],
  );
  assert.deepEqual(mountsUnder(all, '/elsewhere'), []);
});

test("homeMountOptions: the size, root's until handed over, no set-uid programs or devices", () => {
  assert.equal(
    homeMountOptions(256 * 1024 * 1024),
    'size=268435456,mode=0700,uid=0,gid=0,nosuid,nodev',
  );
});
