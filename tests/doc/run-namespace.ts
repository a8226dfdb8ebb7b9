/**
 * A namespace of this doc-test run's own on the shared cluster, and a kubeconfig whose context
 * points at it: the chapters create `web`, `hello`… in the context's namespace, so two runs on
 * one machine (two worktrees, CI and a developer) never fight over the same Pod. Deleted at the
 * end. Pod Security admission holds it to the level a workshop gives participant namespaces
 * (the server's default, or KUBENOTES_POD_SECURITY as the server reads it): a chapter whose
 * Pods that level refuses fails here, not in front of a room.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { SETTINGS } from '../../sandbox-server/src/config/settings.ts';
import {
  type PodSecurityLevel,
  podSecurityLabels,
} from '../../sandbox-server/src/providers/tenancy/tenancy-objects.ts';

/** The Pod Security level of a workshop's participant namespaces, as the server resolves it. */
export function workshopPodSecurity(env: NodeJS.ProcessEnv = process.env): PodSecurityLevel {
  return SETTINGS.podSecurity.schema.parse(env.KUBENOTES_POD_SECURITY || undefined);
}

export interface RunNamespace {
  name: string;
  podSecurity: PodSecurityLevel;
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
  const podSecurity = workshopPodSecurity();
  await core.createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          'app.kubernetes.io/managed-by': 'kubenotes-doc-tests',
          ...podSecurityLabels(podSecurity),
        },
      },
    },
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
    podSecurity,
    kubeconfig: file,
    context,
    async dispose() {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}
