import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import {
  describeRemoved,
  resettableKinds,
} from '../../../sandbox-server/src/providers/tenancy/namespace-reset.ts';
import { RULES } from '../../../sandbox-server/src/providers/tenancy/tenancy-objects.ts';

test("reset my namespace removes every kind the participant's Role lets them create", () => {
  const creatable = RULES.filter((rule) => rule.verbs.includes('create'))
    .flatMap((rule) => rule.resources.map((r) => `${rule.apiGroups[0]}/${r}`))
    .filter((resource) => !resource.includes('/', resource.indexOf('/') + 1))
    .sort();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  assert.deepEqual(
    resettableKinds(kc)
      .map((k) => k.resource)
      .sort(),
    creatable,
  );
});

test('what was removed is said by kind, with names', () => {
  assert.equal(describeRemoved([]), 'There was nothing to remove.');
  assert.equal(
    describeRemoved([
      { kind: 'Deployment', name: 'web' },
      { kind: 'Pod', name: 'a' },
      { kind: 'Pod', name: 'b' },
    ]),
    'Removed 1 Deployment (web), 2 Pods (a, b).',
  );
});

test('what is still shutting down after the wait is said too, with how to know when it is gone', () => {
  assert.equal(
    describeRemoved(
      [{ kind: 'Deployment', name: 'web' }],
      [
        { kind: 'Pod', name: 'web-1' },
        { kind: 'Pod', name: 'web-2' },
      ],
    ),
    'Removed 1 Deployment (web). Still shutting down: 2 Pods (web-1, web-2); wait until `kubectl get all` no longer lists them before you make them again.',
  );
});
