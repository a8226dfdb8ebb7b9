/**
 * A namespace of this doc-test run's own on the shared cluster, and a kubeconfig whose context
 * points at it: the chapters create `web`, `hello`… in the context's namespace, so two runs on
 * one machine (two worktrees, CI and a developer) never fight over the same Pod. Deleted at the
 * end.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export interface RunNamespace {
  name: string;
  /** the run's kubeconfig, pinned to `context` */
  kubeconfig: string;
  context: string;
  dispose(): Promise<void>;
}

export async function makeRunNamespace(
  kubeconfig: string,
  dir: string,
  prefix: string,
): Promise<RunNamespace> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const context = config.getCurrentContext();
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const core = config.makeApiClient(CoreV1Api);
  await core.createNamespace({
    body: { metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'kubenotes-doc-tests' } } },
  });
  // Pods cannot be created before the namespace's default ServiceAccount exists.
  for (let i = 0; ; i++) {
    const found = await core
      .readNamespacedServiceAccount({ name: 'default', namespace: name })
      .then(
        () => true,
        () => false,
      );
    if (found) break;
    if (i >= 120) throw new Error(`no default ServiceAccount in ${name} after 60 s`);
    await sleep(500);
  }
  const pinned = new KubeConfig();
  pinned.loadFromOptions({
    clusters: config.clusters,
    users: config.users,
    contexts: config.contexts.map((c) => (c.name === context ? { ...c, namespace: name } : c)),
    currentContext: context,
  });
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, pinned.exportConfig(), { mode: 0o600 });
  return {
    name,
    kubeconfig: file,
    context,
    async dispose() {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}
