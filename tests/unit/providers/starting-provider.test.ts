/**
 * The provider that stands in while the kind cluster is made: what health says meanwhile,
 * and what a shell opened meanwhile gets once the cluster is ready (or is not).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  ClusterLease,
  ClusterProvider,
} from '../../../sandbox-server/src/providers/provider.ts';
import { StartingProvider } from '../../../sandbox-server/src/providers/starting-provider.ts';

/** A provider that records its leases: the real one, once "made". */
function ready(): ClusterProvider & { leased: string[]; disposed: string[] } {
  const leased: string[] = [];
  const disposed: string[] = [];
  return {
    name: 'kind',
    leased,
    disposed,
    async status() {
      return { provider: 'kind', ready: true, message: 'Kubernetes v1', capabilities: ['kind'] };
    },
    async lease(id: string, home: string): Promise<ClusterLease> {
      leased.push(`${id}:${home}`);
      return {
        namespace: 'default',
        env: { KUBECONFIG: `${home}/.kube/config` },
        async dispose() {
          disposed.push(id);
        },
      };
    },
    async dispose() {},
  };
}

function controlled() {
  let report!: (line: string) => void;
  let finish!: (provider: ClusterProvider) => void;
  let fail!: (error: Error) => void;
  const provider = new StartingProvider({
    name: 'kind',
    capabilities: ['docker', 'kind'],
    first: 'checking the kind cluster',
    start: (progress) => {
      report = progress;
      return new Promise((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
    },
  });
  return {
    provider,
    report: (l: string) => report(l),
    finish: (p: ClusterProvider) => finish(p),
    fail: (e: Error) => fail(e),
  };
}

test('while starting, status says so with the latest step', async () => {
  const { provider, report } = controlled();
  assert.deepEqual(await provider.status(), {
    provider: 'kind',
    ready: false,
    starting: true,
    message: 'checking the kind cluster',
    capabilities: ['docker', 'kind'],
  });
  report('kind: ✓ Preparing nodes');
  assert.equal((await provider.status()).message, 'kind: ✓ Preparing nodes');
});

test('a shell opened while starting gets its kubeconfig when the cluster is ready', async () => {
  const { provider, finish } = controlled();
  const early = await provider.lease('s1', '/homes/s1');
  assert.equal(early.env.KUBECONFIG, '/homes/s1/.kube/config');
  assert.match(early.banner ?? '', /not ready yet \(checking the kind cluster\)/);
  const real = ready();
  finish(real);
  await provider.settled;
  assert.deepEqual(real.leased, ['s1:/homes/s1']);
  assert.equal((await provider.status()).ready, true);
  // Later sessions go straight to the real provider; disposing the early one reaches it too.
  await provider.lease('s2', '/homes/s2');
  assert.deepEqual(real.leased, ['s1:/homes/s1', 's2:/homes/s2']);
  await early.dispose();
  assert.deepEqual(real.disposed, ['s1']);
});

test('a shell that ended while starting is not handed a kubeconfig', async () => {
  const { provider, finish } = controlled();
  const early = await provider.lease('s1', '/homes/s1');
  await early.dispose();
  const real = ready();
  finish(real);
  await provider.settled;
  assert.deepEqual(real.leased, []);
});

test('a cluster that cannot be made: status says why, not starting; shells say so', async () => {
  const { provider, fail } = controlled();
  fail(new Error('--cluster kind: Docker is installed but not running'));
  await provider.settled;
  const status = await provider.status();
  assert.equal(status.ready, false);
  assert.equal(status.starting, undefined);
  assert.equal(status.message, '--cluster kind: Docker is installed but not running');
  const lease = await provider.lease('s1', '/homes/s1');
  assert.deepEqual(lease.env, {});
  assert.match(lease.banner ?? '', /no Kubernetes cluster: --cluster kind: Docker/);
});
