import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterTree, selectedPods } from '../../../sandbox-server/src/shared/cluster-model.ts';
import { describeTree, renderClusterSvg } from '../../../src/cluster-view/cluster-svg.ts';
import { declaredModel, declaredObjects } from '../../../src/cluster-view/declared-snapshot.ts';

const rollout = {
  deployment: { name: 'web', replicas: 3, maxSurge: 1, maxUnavailable: 0 },
  replicaSets: [
    { revision: 1, image: 'nginx:1.29-alpine', pods: ['Running', 'Running', 'Terminating'] },
    { revision: 2, image: 'nginx:1.30-alpine', pods: ['Running', 'Pending'] },
  ],
  services: [{ name: 'web', selector: 'app=web', ports: ['80'] }],
};

test('a declared rollout becomes the tree the live view draws: newest revision first, owners linked', () => {
  const tree = clusterTree(declaredModel(rollout).objects.values());
  assert.equal(tree.deployments.length, 1);
  const [newest, old] = tree.deployments[0]!.replicaSets;
  assert.equal(newest?.replicaSet.revision, '2');
  assert.equal(newest?.pods.length, 2);
  assert.equal(old?.pods.filter((p) => p.deleting).length, 1);
  assert.equal(tree.pods.length, 0, 'every Pod has its ReplicaSet');
  // The Service's endpoints: the Pods its selector matches that are running and not leaving.
  assert.equal(tree.services[0]?.endpoints.length, 3);
});

test('the picture has a title and a text alternative naming every object', () => {
  const tree = clusterTree(declaredModel(rollout).objects.values());
  const svg = renderClusterSvg(tree, { width: 600, title: 'A rollout', idPrefix: 'x' });
  assert.match(svg, /<title id="x-title">A rollout<\/title>/);
  assert.match(svg, /role="img"/);
  const text = describeTree(tree);
  for (const object of declaredObjects(rollout).filter((o) => o.kind !== 'EndpointSlice')) {
    assert.ok(text.includes(object.name), `${object.name} in: ${text}`);
  }
});

test('a selector marks the Pods it matches with a check mark, not by colour alone', () => {
  const model = declaredModel({
    pods: [
      { name: 'a', labels: { app: 'web', track: 'stable' } },
      { name: 'b', labels: { app: 'web', track: 'canary' } },
      { name: 'c', labels: { app: 'db' } },
    ],
  });
  const hit = selectedPods('app=web,track!=canary', model.of('Pod'));
  assert.deepEqual([...hit], ['pod-a']);
  const svg = renderClusterSvg(clusterTree(model.objects.values()), {
    width: 600,
    title: 't',
    idPrefix: 'y',
    highlight: hit,
  });
  const hits = [...svg.matchAll(/class="kn-cv-pod kn-cv-hit" data-uid="([^"]+)"/g)].map(
    (m) => m[1],
  );
  assert.deepEqual(hits, ['pod-a']);
  assert.match(svg, /class="kn-cv-check"[^>]*>✓</);
});

test('a bad declaration says which field is wrong', () => {
  assert.throws(
    () => declaredObjects({ replicaSets: [{ pods: ['Sleeping'] }] }),
    /replicaSets\.0\.pods\.0/,
  );
  assert.throws(
    () => declaredObjects({ services: [{ name: 's', selector: 'app in web' }] }),
    /Service s has a bad selector/,
  );
});
