import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CgroupSources,
  findHierarchies,
  limitFiles,
} from '../../../sandbox-server/src/isolation/cgroup.ts';

const limits = { pids: 256, memoryBytes: 512 * 1024 * 1024, cpuPercent: 150 };

function sources(
  mountinfo: string[],
  selfCgroup: string[],
  v2: Record<string, string> = {},
): CgroupSources {
  return {
    mountinfo: mountinfo.join('\n'),
    selfCgroup: selfCgroup.join('\n'),
    readControllers: (dir) => v2[dir],
  };
}

test('cgroup v1: one hierarchy per controller, nested in the server’s own cgroup', () => {
  const found = findHierarchies(
    sources(
      [
        '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
        '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
        '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
        '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
        '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
        '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      ],
      ['9:name=systemd:/', '8:pids:/', '4:memory:/process_api/abc', '1:cpu,cpuacct:/', '0::/'],
      { '/sys/fs/cgroup/unified': 'hugetlb' },
    ),
  );
  assert.deepEqual(found.missing, []);
  assert.deepEqual(found.hierarchies, [
    {
      version: 1,
      ownDir: '/sys/fs/cgroup/pids',
      mountPoint: '/sys/fs/cgroup/pids',
      controllers: ['pids'],
    },
    {
      version: 1,
      ownDir: '/sys/fs/cgroup/memory/process_api/abc',
      mountPoint: '/sys/fs/cgroup/memory',
      controllers: ['memory'],
    },
    {
      version: 1,
      ownDir: '/sys/fs/cgroup/cpu,cpuacct',
      mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
      controllers: ['cpu'],
    },
  ]);
});

test('cgroup v2: every controller from the unified tree, at the server’s own cgroup', () => {
  const found = findHierarchies(
    sources(
      ['30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate'],
      ['0::/system.slice/kubenotes.service'],
      { '/sys/fs/cgroup/system.slice/kubenotes.service': 'cpuset cpu io memory pids' },
    ),
  );
  assert.deepEqual(found, {
    hierarchies: [
      {
        version: 2,
        ownDir: '/sys/fs/cgroup/system.slice/kubenotes.service',
        mountPoint: '/sys/fs/cgroup',
        controllers: ['pids', 'memory', 'cpu'],
      },
    ],
    missing: [],
  });
});

test('hybrid: v2 where enabled, v1 for the rest; what is nowhere is reported', () => {
  const found = findHierarchies(
    sources(
      [
        '30 23 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
        '31 23 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      ],
      ['4:memory:/', '0::/'],
      { '/sys/fs/cgroup/unified': 'pids' },
    ),
  );
  assert.deepEqual(
    found.hierarchies.map((h) => [h.version, h.controllers]),
    [
      [2, ['pids']],
      [1, ['memory']],
    ],
  );
  assert.deepEqual(found.missing, ['cpu: no cgroup hierarchy offers this controller']);
});

test('a container: the mount shows only part of the tree', () => {
  const found = findHierarchies(
    sources(
      ['30 23 0:26 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids'],
      ['8:pids:/docker/abc/inner', '4:memory:/elsewhere'],
    ),
    ['pids', 'memory'],
  );
  assert.equal(found.hierarchies[0]?.ownDir, '/sys/fs/cgroup/pids/inner');
  assert.match(found.missing.join(), /memory: no cgroup hierarchy/);
  const outside = findHierarchies(
    sources(
      ['30 23 0:26 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids'],
      ['8:pids:/other'],
    ),
    ['pids'],
  );
  assert.match(outside.missing.join(), /outside the part of the tree mounted/);
});

test('limit files, v2', () => {
  assert.deepEqual(limitFiles(2, 'pids', limits), [['pids.max', '256']]);
  assert.deepEqual(limitFiles(2, 'memory', limits), [
    ['memory.max', '536870912'],
    ['memory.swap.max', '0'],
  ]);
  assert.deepEqual(
    limitFiles(2, 'memory', limits, () => false),
    [['memory.max', '536870912']],
  );
  assert.deepEqual(limitFiles(2, 'cpu', limits), [['cpu.max', '150000 100000']]);
  const none = { pids: 0, memoryBytes: 0, cpuPercent: 0 };
  assert.deepEqual(limitFiles(2, 'pids', none), [['pids.max', 'max']]);
  assert.deepEqual(limitFiles(2, 'cpu', none), [['cpu.max', 'max 100000']]);
});

test('limit files, v1', () => {
  assert.deepEqual(limitFiles(1, 'pids', limits), [['pids.max', '256']]);
  assert.deepEqual(limitFiles(1, 'memory', limits), [
    ['memory.memsw.limit_in_bytes', '-1'],
    ['memory.limit_in_bytes', '536870912'],
    ['memory.memsw.limit_in_bytes', '536870912'],
  ]);
  assert.deepEqual(
    limitFiles(1, 'memory', limits, () => false),
    [['memory.limit_in_bytes', '536870912']],
  );
  assert.deepEqual(limitFiles(1, 'cpu', limits), [
    ['cpu.cfs_period_us', '100000'],
    ['cpu.cfs_quota_us', '150000'],
  ]);
  assert.deepEqual(limitFiles(1, 'cpu', { ...limits, cpuPercent: 0.1 }), [
    ['cpu.cfs_period_us', '100000'],
    ['cpu.cfs_quota_us', '1000'],
  ]);
});
