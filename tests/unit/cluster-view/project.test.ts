import assert from 'node:assert/strict';
import { test } from 'node:test';
import { project, projectEvent } from '../../../sandbox-server/src/cluster-view/project.ts';

test('a Pod: phase, why it waits, ready containers, restarts, node, its ReplicaSet as owner', () => {
  const pod = project('Pod', {
    metadata: {
      uid: 'u1',
      name: 'web-5d9f-abcde',
      labels: { app: 'web' },
      // client-node's typed lists carry Dates; a watch's JSON carries strings: both are read.
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      deletionTimestamp: '2026-01-01T00:01:00Z',
      ownerReferences: [
        { kind: 'Node', name: 'x', uid: 'n', controller: false },
        { kind: 'ReplicaSet', name: 'web-5d9f', uid: 'rs1', controller: true },
      ],
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'app' }, { name: 'sidecar' }] },
    status: {
      phase: 'Pending',
      containerStatuses: [
        { ready: true, restartCount: 2, state: { running: {} } },
        { ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } },
      ],
    },
  });
  assert.deepEqual(pod, {
    uid: 'u1',
    name: 'web-5d9f-abcde',
    labels: { app: 'web' },
    owner: { kind: 'ReplicaSet', name: 'web-5d9f', uid: 'rs1' },
    created: '2026-01-01T00:00:00.000Z',
    deleting: true,
    kind: 'Pod',
    phase: 'Pending',
    containers: ['app', 'sidecar'],
    ready: 1,
    restarts: 3,
    reason: 'CrashLoopBackOff',
    node: 'node-1',
  });
});

test('a Deployment: its selector as text, its rolling-update limits as written', () => {
  const d = project('Deployment', {
    metadata: { uid: 'd', name: 'web' },
    spec: {
      replicas: 4,
      selector: {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }],
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
    },
    status: { readyReplicas: 3, updatedReplicas: 2, availableReplicas: 3 },
  });
  assert.equal(d.kind, 'Deployment');
  if (d.kind !== 'Deployment') return;
  assert.equal(d.selector, 'app=web,track notin (canary)');
  assert.equal(d.maxSurge, '25%');
  assert.equal(d.maxUnavailable, '1');
  assert.deepEqual([d.replicas, d.ready, d.updated, d.available], [4, 3, 2, 3]);
});

test('a Service without a selector selects nothing; an EndpointSlice names its Service and Pods', () => {
  const s = project('Service', {
    metadata: { uid: 's', name: 'ext' },
    spec: { type: 'ClusterIP', ports: [{ port: 80, targetPort: 8080 }] },
  });
  assert.equal(s.kind === 'Service' && s.selector, undefined);
  assert.deepEqual(s.kind === 'Service' && s.ports, ['80→8080/TCP']);
  const slice = project('EndpointSlice', {
    metadata: { uid: 'e', name: 'web-x', labels: { 'kubernetes.io/service-name': 'web' } },
    endpoints: [
      {
        addresses: ['10.0.0.1'],
        conditions: { ready: true },
        targetRef: { kind: 'Pod', name: 'p1' },
      },
      { addresses: ['10.0.0.2'], conditions: { ready: false } },
    ],
  });
  assert.deepEqual(slice.kind === 'EndpointSlice' && [slice.service, slice.endpoints], [
    'web',
    [
      { ip: '10.0.0.1', ready: true, pod: 'p1' },
      { ip: '10.0.0.2', ready: false },
    ],
  ]);
});

test('an event: one line, its object, the time of its last occurrence', () => {
  const e = projectEvent({
    metadata: { uid: 'ev' },
    type: 'Warning',
    reason: 'BackOff',
    message: 'Back-off restarting failed container',
    involvedObject: { kind: 'Pod', name: 'web-1' },
    lastTimestamp: '2026-01-01T00:00:05Z',
    count: 4,
  });
  assert.deepEqual(e, {
    uid: 'ev',
    type: 'Warning',
    reason: 'BackOff',
    message: 'Back-off restarting failed container',
    object: 'Pod/web-1',
    at: '2026-01-01T00:00:05.000Z',
    count: 4,
  });
});
