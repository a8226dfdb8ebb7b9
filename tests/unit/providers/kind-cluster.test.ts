import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createArgs } from '../../../sandbox-server/src/providers/kind-cluster.ts';

test("kind create cluster never writes the reader's kubeconfig, and passes the config and image", () => {
  const args = createArgs(
    { name: 'kubenotes', configFile: '/k/kind.yaml', image: 'local/node:1' },
    '/state/k.kubeconfig',
  );
  assert.deepEqual(args, [
    'create',
    'cluster',
    '--name',
    'kubenotes',
    '--config',
    '/k/kind.yaml',
    '--image',
    'local/node:1',
    '--wait',
    '3m',
    '--kubeconfig',
    '/state/k.kubeconfig',
  ]);
  assert.ok(!createArgs({ name: 'x', configFile: 'c' }, 'k').includes('--image'));
});
