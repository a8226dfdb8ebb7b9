/**
 * "Reset my namespace" (docs/tasks.md): deletes what a participant made in their namespace,
 * with the participant's own credentials, so it can reach nothing their shell could not:
 * not another namespace, and not the tenancy's own objects (Role, binding, quota, limits,
 * NetworkPolicy), which their Role lets them read at most.
 */
import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

/** One object removed, as the reader is told: `Deployment web`. */
export interface RemovedObject {
  kind: string;
  name: string;
}

type Lister = (namespace: string) => Promise<{ items: { metadata?: { name?: string } }[] }>;
type Remover = (name: string, namespace: string) => Promise<unknown>;

/**
 * Every kind the participant's Role lets them create (tenancy-objects.ts RULES; a unit test
 * holds the two together), owners before what they own, so no controller makes a new Pod
 * after its Pods are gone.
 */
export function resettableKinds(kc: KubeConfig): {
  kind: string;
  resource: string;
  list: Lister;
  remove: Remover;
}[] {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  // Background: the API server answers at once and the garbage collector removes dependents.
  const propagationPolicy = 'Background';
  return [
    {
      kind: 'Deployment',
      resource: 'apps/deployments',
      list: (namespace) => apps.listNamespacedDeployment({ namespace }),
      remove: (name, namespace) =>
        apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy }),
    },
    {
      kind: 'StatefulSet',
      resource: 'apps/statefulsets',
      list: (namespace) => apps.listNamespacedStatefulSet({ namespace }),
      remove: (name, namespace) =>
        apps.deleteNamespacedStatefulSet({ name, namespace, propagationPolicy }),
    },
    {
      kind: 'DaemonSet',
      resource: 'apps/daemonsets',
      list: (namespace) => apps.listNamespacedDaemonSet({ namespace }),
      remove: (name, namespace) =>
        apps.deleteNamespacedDaemonSet({ name, namespace, propagationPolicy }),
    },
    {
      kind: 'CronJob',
      resource: 'batch/cronjobs',
      list: (namespace) => batch.listNamespacedCronJob({ namespace }),
      remove: (name, namespace) =>
        batch.deleteNamespacedCronJob({ name, namespace, propagationPolicy }),
    },
    {
      kind: 'Job',
      resource: 'batch/jobs',
      list: (namespace) => batch.listNamespacedJob({ namespace }),
      remove: (name, namespace) =>
        batch.deleteNamespacedJob({ name, namespace, propagationPolicy }),
    },
    {
      kind: 'ReplicaSet',
      resource: 'apps/replicasets',
      list: (namespace) => apps.listNamespacedReplicaSet({ namespace }),
      remove: (name, namespace) =>
        apps.deleteNamespacedReplicaSet({ name, namespace, propagationPolicy }),
    },
    {
      kind: 'Pod',
      resource: '/pods',
      list: (namespace) => core.listNamespacedPod({ namespace }),
      remove: (name, namespace) => core.deleteNamespacedPod({ name, namespace }),
    },
    {
      kind: 'Service',
      resource: '/services',
      list: (namespace) => core.listNamespacedService({ namespace }),
      remove: (name, namespace) => core.deleteNamespacedService({ name, namespace }),
    },
    {
      kind: 'ConfigMap',
      resource: '/configmaps',
      list: (namespace) => core.listNamespacedConfigMap({ namespace }),
      remove: (name, namespace) => core.deleteNamespacedConfigMap({ name, namespace }),
    },
    {
      kind: 'PersistentVolumeClaim',
      resource: '/persistentvolumeclaims',
      list: (namespace) => core.listNamespacedPersistentVolumeClaim({ namespace }),
      remove: (name, namespace) => core.deleteNamespacedPersistentVolumeClaim({ name, namespace }),
    },
    {
      kind: 'ControllerRevision',
      resource: 'apps/controllerrevisions',
      list: (namespace) => apps.listNamespacedControllerRevision({ namespace }),
      remove: (name, namespace) =>
        apps.deleteNamespacedControllerRevision({ name, namespace, propagationPolicy }),
    },
  ];
}

/** What a reset did: what it deleted, and what was still going after the wait. */
export interface NamespaceReset {
  removed: RemovedObject[];
  /** Objects (a Pod in its grace period, what the garbage collector has yet to reach) still there. */
  remaining: RemovedObject[];
}

/**
 * How long a reset waits for what it deleted to be gone. A reader who makes the chapter's Pod
 * again right after a reset that answered at once met `object is being deleted: pods "web"
 * already exists`; nginx and alpine Pods stop in a second or two, the default grace is 30 s.
 */
export const RESET_WAIT_MS = 20_000;
/** How often it looks again meanwhile: every resettable kind is listed each time. */
const RESET_POLL_MS = 500;

/**
 * Deletes every object of those kinds in `namespace` but those `keep` names (the shell's own
 * Pod, in pod-shell mode), then waits (up to RESET_WAIT_MS) until they and their dependents
 * are gone. An object already gone is not an error. ConfigMaps the cluster itself puts in
 * every namespace (kube-root-ca.crt) are kept.
 */
export async function resetNamespace(
  kc: KubeConfig,
  namespace: string,
  keep: (kind: string, name: string) => boolean = () => false,
): Promise<NamespaceReset> {
  const kinds = resettableKinds(kc);
  /** The names of one kind's objects a reset removes, as they are now. */
  const present = async ({ kind, list }: (typeof kinds)[number]): Promise<string[]> =>
    (await list(namespace)).items
      .map((item) => item.metadata?.name ?? '')
      .filter(
        (name) =>
          name && !keep(kind, name) && !(kind === 'ConfigMap' && name === 'kube-root-ca.crt'),
      );
  const removed: RemovedObject[] = [];
  for (const entry of kinds) {
    for (const name of await present(entry)) {
      try {
        await entry.remove(name, namespace);
        removed.push({ kind: entry.kind, name });
      } catch (error) {
        if ((error as { code?: unknown }).code !== 404) throw error;
      }
    }
  }
  const left = async (): Promise<RemovedObject[]> => {
    const found: RemovedObject[] = [];
    for (const entry of kinds) {
      for (const name of await present(entry)) found.push({ kind: entry.kind, name });
    }
    return found;
  };
  const until = Date.now() + RESET_WAIT_MS;
  let remaining = removed.length > 0 ? await left() : [];
  while (remaining.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, RESET_POLL_MS));
    remaining = await left();
  }
  return { removed, remaining };
}

/** `1 Deployment (web), 2 Pods (a, b)`: objects by kind, with names (the first five). */
function byKind(objects: readonly RemovedObject[]): string {
  const kinds = new Map<string, string[]>();
  for (const { kind, name } of objects) kinds.set(kind, [...(kinds.get(kind) ?? []), name]);
  return [...kinds]
    .map(([kind, names]) => {
      const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')}, …` : names.join(', ');
      return `${names.length} ${kind}${names.length === 1 ? '' : 's'} (${shown})`;
    })
    .join(', ');
}

/** What a reset removed, and what is still going, for the reader. */
export function describeRemoved(
  removed: readonly RemovedObject[],
  remaining: readonly RemovedObject[] = [],
): string {
  if (removed.length === 0) return 'There was nothing to remove.';
  const said = `Removed ${byKind(removed)}.`;
  if (remaining.length === 0) return said;
  return `${said} Still shutting down: ${byKind(remaining)}; wait until \`kubectl get all\` no longer lists them before you make them again.`;
}
