/**
 * The page's copy of a namespace (a snapshot, then changes applied in order), and the
 * ownership tree the view draws from it: Deployment → ReplicaSets (newest revision first) →
 * Pods, Services with their endpoints, and what owns nothing. Chapter diagrams build the same
 * tree from a declared list of objects. Shared code: no DOM, no Node.
 */
import type {
  ClusterChange,
  ClusterEvent,
  ClusterObject,
  DeploymentView,
  EndpointSliceView,
  PodView,
  ReplicaSetView,
  ServiceView,
} from './cluster-objects.ts';
import { type LabelSelector, matches, parseSelector } from './label-selector.ts';

export class ClusterModel {
  namespace = '';
  readonly objects = new Map<string, ClusterObject>();
  events: ClusterEvent[] = [];

  snapshot(namespace: string, objects: ClusterObject[], events: ClusterEvent[]): void {
    this.namespace = namespace;
    this.objects.clear();
    for (const object of objects) this.objects.set(object.uid, object);
    this.events = events.slice();
  }

  apply(changes: ClusterChange[], events: ClusterEvent[], keep = 50): void {
    for (const change of changes) {
      if (change.op === 'put') this.objects.set(change.object.uid, change.object);
      else this.objects.delete(change.uid);
    }
    if (events.length === 0) return;
    const byUid = new Map(this.events.map((e) => [e.uid, e]));
    for (const event of events) byUid.set(event.uid, event);
    this.events = [...byUid.values()].sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, keep);
  }

  of<K extends ClusterObject['kind']>(kind: K): Extract<ClusterObject, { kind: K }>[] {
    return [...this.objects.values()].filter(
      (o): o is Extract<ClusterObject, { kind: K }> => o.kind === kind,
    );
  }
}

export interface ReplicaSetBranch {
  replicaSet: ReplicaSetView;
  pods: PodView[];
}

export interface ClusterTree {
  deployments: { deployment: DeploymentView; replicaSets: ReplicaSetBranch[] }[];
  /** ReplicaSets no Deployment owns */
  replicaSets: ReplicaSetBranch[];
  /** Pods no ReplicaSet owns (bare Pods, or relabelled ones their ReplicaSet let go) */
  pods: PodView[];
  services: { service: ServiceView; endpoints: EndpointSliceView['endpoints'] }[];
}

const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);

/** Newest revision first; an old ReplicaSet scaled to zero sinks to the bottom. */
function byRevision(a: ReplicaSetView, b: ReplicaSetView): number {
  const ra = Number(a.revision ?? 0);
  const rb = Number(b.revision ?? 0);
  return rb - ra || a.name.localeCompare(b.name);
}

export function clusterTree(objects: Iterable<ClusterObject>): ClusterTree {
  const all = [...objects];
  const pick = <K extends ClusterObject['kind']>(kind: K) =>
    all.filter((o): o is Extract<ClusterObject, { kind: K }> => o.kind === kind);
  const pods = pick('Pod').sort(byName);
  const podsOf = (owner: { uid: string }) => pods.filter((p) => p.owner?.uid === owner.uid);
  const deployments = pick('Deployment').sort(byName);
  const replicaSets = pick('ReplicaSet').sort(byRevision);
  const deploymentUids = new Set(deployments.map((d) => d.uid));
  const replicaSetUids = new Set(replicaSets.map((r) => r.uid));
  const branch = (replicaSet: ReplicaSetView): ReplicaSetBranch => ({
    replicaSet,
    pods: podsOf(replicaSet),
  });
  const slices = pick('EndpointSlice');
  return {
    deployments: deployments.map((deployment) => ({
      deployment,
      replicaSets: replicaSets.filter((r) => r.owner?.uid === deployment.uid).map(branch),
    })),
    replicaSets: replicaSets
      .filter((r) => !r.owner || !deploymentUids.has(r.owner.uid))
      .map(branch),
    pods: pods.filter((p) => !p.owner || !replicaSetUids.has(p.owner.uid)),
    services: pick('Service')
      .sort(byName)
      .map((service) => ({
        service,
        endpoints: slices.filter((s) => s.service === service.name).flatMap((s) => s.endpoints),
      })),
  };
}

/** The Pods a selector (text) matches; undefined selects nothing. */
export function selectedPods(
  selector: string | LabelSelector | undefined,
  pods: Iterable<PodView>,
): Set<string> {
  const chosen = new Set<string>();
  if (selector === undefined) return chosen;
  let parsed: LabelSelector;
  if (typeof selector === 'string') {
    const result = parseSelector(selector);
    if (!result.ok) return chosen;
    parsed = result.selector;
  } else {
    parsed = selector;
  }
  for (const pod of pods) if (matches(parsed, pod.labels)) chosen.add(pod.uid);
  return chosen;
}
