/**
 * The label-selector parser against the real API server: for every row of the table, the Pods
 * `kubectl get pods -l` lists (or its refusal) are what the parser selects from the same Pods.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { matches, parseSelector } from '../../sandbox-server/src/shared/label-selector.ts';
import { SELECTOR_CASES, SELECTOR_PODS } from '../support/selector-table.ts';

const run = promisify(execFile);
const kubeconfig = process.env.KUBENOTES_TEST_KUBECONFIG;
const kubectl = join(process.env.KUBENOTES_TEST_KUBECTL_DIR ?? '', 'kubectl');
const skip = kubeconfig ? false : 'no test cluster: run through `npm test`, which starts it';

function parserSelects(selector: string): string[] | 'error' {
  const parsed = parseSelector(selector);
  if (!parsed.ok) return 'error';
  return Object.entries(SELECTOR_PODS)
    .filter(([, labels]) => matches(parsed.selector, labels))
    .map(([name]) => name)
    .sort();
}

async function apiServerSelects(namespace: string, selector: string): Promise<string[] | 'error'> {
  try {
    const { stdout } = await run(kubectl, [
      '--kubeconfig',
      kubeconfig ?? '',
      '-n',
      namespace,
      'get',
      'pods',
      '-l',
      selector,
      '-o',
      'name',
    ]);
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.replace(/^pod\//, ''))
      .sort();
  } catch {
    return 'error';
  }
}

describe('label selectors, parser and API server', { skip }, () => {
  const namespace = `issue-17-selectors-${Date.now().toString(36)}`;
  let core: CoreV1Api;
  before(async () => {
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig ?? '');
    core = config.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await Promise.all(
      Object.entries(SELECTOR_PODS).map(([name, labels]) =>
        core.createNamespacedPod({
          namespace,
          body: {
            metadata: { name, labels },
            spec: { containers: [{ name: 'main', image: 'nginx:1.29-alpine' }] },
          },
        }),
      ),
    );
  });
  after(() => core?.deleteNamespace({ name: namespace }));

  test('every selector of the table selects what the API server lists, or both refuse it', async () => {
    const disagreements: string[] = [];
    // Four kubectl processes at a time: enough to be quick, few enough for two cores.
    const queue = [...SELECTOR_CASES];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let row = queue.shift(); row; row = queue.shift()) {
          const [selector, stated] = row;
          const server = await apiServerSelects(namespace, selector);
          const parser = parserSelects(selector);
          if (JSON.stringify(server) !== JSON.stringify(parser)) {
            disagreements.push(
              `-l '${selector}': API server ${JSON.stringify(server)}, parser ${JSON.stringify(parser)}`,
            );
          }
          if (JSON.stringify(server) !== JSON.stringify(stated)) {
            disagreements.push(
              `-l '${selector}': API server ${JSON.stringify(server)}, table ${JSON.stringify(stated)}`,
            );
          }
        }
      }),
    );
    assert.deepEqual(disagreements, []);
  });
});
