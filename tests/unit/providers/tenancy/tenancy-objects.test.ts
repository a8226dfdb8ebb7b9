import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  instanceSelector,
  namespaceName,
  tenancyObjects,
} from '../../../../sandbox-server/src/providers/tenancy/tenancy-objects.ts';
import { createSessionId } from '../../../../sandbox-server/src/session/tokens.ts';

test('session ids make valid namespace names (RFC 1123 labels)', () => {
  for (let i = 0; i < 200; i++) {
    assert.match(namespaceName(createSessionId()), /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
  }
});

test('every object carries the server labels, so a restart finds it', () => {
  const objects = tenancyObjects('abc123', 'spring-workshop');
  for (const object of Object.values(objects)) {
    assert.equal(object.metadata?.labels?.['app.kubernetes.io/managed-by'], 'kubenotes');
    assert.equal(object.metadata?.labels?.['kubenotes.dev/instance'], 'spring-workshop');
    assert.equal(object.metadata?.labels?.['kubenotes.dev/session'], 'abc123');
  }
  assert.equal(
    instanceSelector('spring-workshop'),
    'app.kubernetes.io/managed-by=kubenotes,kubenotes.dev/instance=spring-workshop',
  );
});

test('the participant gets a namespaced Role only, with no wildcard and nothing cluster-scoped', () => {
  const { role, roleBinding } = tenancyObjects('abc123', 'x');
  assert.equal(role.kind, 'Role');
  assert.equal(role.metadata?.namespace, 'kn-abc123');
  for (const rule of role.rules ?? []) {
    assert.ok(!rule.verbs.includes('*') && !(rule.resources ?? []).includes('*'));
    for (const resource of rule.resources ?? []) {
      assert.ok(
        ![
          'namespaces',
          'nodes',
          'roles',
          'rolebindings',
          'clusterroles',
          'secrets',
          'serviceaccounts',
        ].includes(resource),
        resource,
      );
    }
  }
  assert.equal(roleBinding.roleRef.kind, 'Role');
  assert.deepEqual(roleBinding.subjects, [
    { kind: 'ServiceAccount', name: 'participant', namespace: 'kn-abc123' },
  ]);
});

test('quota and defaults: quota-limited pods still start because the LimitRange gives defaults', () => {
  const { quota, limitRange, networkPolicy } = tenancyObjects('abc123', 'x');
  assert.equal(quota.spec?.hard?.pods, '20');
  assert.ok(quota.spec?.hard?.['limits.cpu']);
  const item = limitRange.spec?.limits[0];
  assert.ok(item?._default?.cpu && item.defaultRequest?.memory);
  // Ingress only from pods of the same namespace.
  assert.deepEqual(networkPolicy.spec?.ingress, [{ _from: [{ podSelector: {} }] }]);
});

test('NetworkPolicy egress: only pods of the same namespace, and DNS', () => {
  const { networkPolicy } = tenancyObjects('abc123', 'x');
  assert.deepEqual(networkPolicy.spec?.policyTypes, ['Ingress', 'Egress']);
  const [own, dns] = networkPolicy.spec?.egress ?? [];
  assert.deepEqual(own, { to: [{ podSelector: {} }] });
  assert.deepEqual(
    dns?.ports?.map((p) => `${p.protocol}/${p.port}`),
    ['UDP/53', 'TCP/53'],
  );
  assert.equal(networkPolicy.spec?.egress?.length, 2, 'nothing else goes out');
});

test('the proxy subresources (opening apps) are granted get, and no other verb', () => {
  const { role } = tenancyObjects('abc123', 'x');
  const proxyRules = (role.rules ?? []).filter((rule) =>
    (rule.resources ?? []).some((r) => r.endsWith('/proxy')),
  );
  assert.deepEqual(proxyRules, [
    { apiGroups: [''], resources: ['services/proxy', 'pods/proxy'], verbs: ['get'] },
  ]);
});
