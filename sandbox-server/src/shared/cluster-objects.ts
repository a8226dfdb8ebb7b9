/**
 * What the cluster view knows of an object: the few fields a picture of the namespace needs
 * (docs/cluster-view.md), not the object. The server projects what the API server's watch
 * sends into these; the page and the chapters' diagrams draw them with one renderer.
 * Selectors travel as label-selector text (label-selector.ts). Shared code: no DOM, no Node.
 */
import { z } from 'zod';

const name = z.string().max(253);
const labels = z.record(z.string().max(317), z.string().max(63));
const count = z.number().int().min(0).max(1_000_000);

const base = {
  uid: z.string().max(128),
  name,
  labels,
  /** the controller that owns it (ownerReferences with controller: true) */
  owner: z.object({ kind: z.string().max(64), name, uid: z.string().max(128) }).optional(),
  /** ISO time; orders ReplicaSets and Pods */
  created: z.string().max(40).optional(),
  /** deletionTimestamp is set: on its way out */
  deleting: z.boolean().optional(),
};

export const DeploymentView = z.object({
  ...base,
  kind: z.literal('Deployment'),
  selector: z.string().max(4096).optional(),
  replicas: count,
  ready: count,
  updated: count,
  available: count,
  /** RollingUpdate's maxSurge / maxUnavailable, as written (`25%`, `1`) */
  maxSurge: z.string().max(16).optional(),
  maxUnavailable: z.string().max(16).optional(),
  strategy: z.string().max(32).optional(),
});

export const ReplicaSetView = z.object({
  ...base,
  kind: z.literal('ReplicaSet'),
  selector: z.string().max(4096).optional(),
  /** deployment.kubernetes.io/revision */
  revision: z.string().max(16).optional(),
  replicas: count,
  ready: count,
  /** the first container's image: what tells two revisions apart */
  image: z.string().max(512).optional(),
});

export const PodView = z.object({
  ...base,
  kind: z.literal('Pod'),
  phase: z.string().max(32),
  /** why it is not running, when the kubelet says (ContainerCreating, CrashLoopBackOff) */
  reason: z.string().max(64).optional(),
  containers: z.array(z.string().max(253)).max(64),
  ready: count,
  restarts: count,
  node: z.string().max(253).optional(),
  ip: z.string().max(64).optional(),
});

export const ServiceView = z.object({
  ...base,
  kind: z.literal('Service'),
  /** undefined: a Service without a selector selects no Pods */
  selector: z.string().max(4096).optional(),
  type: z.string().max(32),
  clusterIP: z.string().max(64).optional(),
  ports: z.array(z.string().max(64)).max(64),
});

export const EndpointSliceView = z.object({
  ...base,
  kind: z.literal('EndpointSlice'),
  /** kubernetes.io/service-name */
  service: z.string().max(253).optional(),
  endpoints: z
    .array(
      z.object({ ip: z.string().max(64), ready: z.boolean(), pod: z.string().max(253).optional() }),
    )
    .max(1000),
});

export const ClusterObject = z.discriminatedUnion('kind', [
  DeploymentView,
  ReplicaSetView,
  PodView,
  ServiceView,
  EndpointSliceView,
]);
export type ClusterObject = z.infer<typeof ClusterObject>;
export type DeploymentView = z.infer<typeof DeploymentView>;
export type ReplicaSetView = z.infer<typeof ReplicaSetView>;
export type PodView = z.infer<typeof PodView>;
export type ServiceView = z.infer<typeof ServiceView>;
export type EndpointSliceView = z.infer<typeof EndpointSliceView>;
export const ObjectKind = z.enum(['Deployment', 'ReplicaSet', 'Pod', 'Service', 'EndpointSlice']);
export type ObjectKind = z.infer<typeof ObjectKind>;
export const OBJECT_KINDS = ObjectKind.options;

/** One line of the namespace's recent events. */
export const ClusterEvent = z.object({
  uid: z.string().max(128),
  type: z.string().max(32),
  reason: z.string().max(128),
  message: z.string().max(1024),
  /** `Pod/web-6d4f-abc12` */
  object: z.string().max(320),
  /** ISO time of the last occurrence */
  at: z.string().max(40),
  count: count,
});
export type ClusterEvent = z.infer<typeof ClusterEvent>;

/** How many of the namespace's newest events the view keeps. */
export const EVENTS_KEPT = 50;

export const ClusterChange = z.discriminatedUnion('op', [
  z.object({ op: z.literal('put'), object: ClusterObject }),
  z.object({ op: z.literal('delete'), kind: ObjectKind, uid: z.string().max(128) }),
]);
export type ClusterChange = z.infer<typeof ClusterChange>;
