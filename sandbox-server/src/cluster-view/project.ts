/**
 * From what the API server sends (a list's items or a watch event's object, plain JSON or
 * client-node's typed objects, whose times are Dates) to the cluster view's few fields
 * (shared/cluster-objects.ts). Pure; unit-tested.
 */
import type { ClusterEvent, ClusterObject, ObjectKind } from '../shared/cluster-objects.ts';
import { selectorText } from '../shared/label-selector.ts';

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read defensively field by field
type Json = any;

function time(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function base(o: Json) {
  const meta = o?.metadata ?? {};
  const owner = (meta.ownerReferences ?? []).find((r: Json) => r?.controller);
  return {
    uid: String(meta.uid ?? ''),
    name: String(meta.name ?? ''),
    labels: { ...(meta.labels ?? {}) } as Record<string, string>,
    ...(owner
      ? { owner: { kind: String(owner.kind), name: String(owner.name), uid: String(owner.uid) } }
      : {}),
    ...(time(meta.creationTimestamp) ? { created: time(meta.creationTimestamp) } : {}),
    ...(meta.deletionTimestamp ? { deleting: true } : {}),
  };
}

const n = (value: unknown): number => (typeof value === 'number' && value >= 0 ? value : 0);
const text = (value: unknown): string | undefined =>
  value === undefined || value === null ? undefined : String(value);

function optional<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

export function project(kind: ObjectKind, o: Json): ClusterObject {
  switch (kind) {
    case 'Deployment': {
      const rolling = o.spec?.strategy?.rollingUpdate;
      return {
        ...base(o),
        kind,
        replicas: n(o.spec?.replicas ?? 1),
        ready: n(o.status?.readyReplicas),
        updated: n(o.status?.updatedReplicas),
        available: n(o.status?.availableReplicas),
        ...optional({
          selector: selectorText(o.spec?.selector),
          strategy: text(o.spec?.strategy?.type),
          maxSurge: text(rolling?.maxSurge),
          maxUnavailable: text(rolling?.maxUnavailable),
        }),
      };
    }
    case 'ReplicaSet':
      return {
        ...base(o),
        kind,
        replicas: n(o.spec?.replicas ?? 1),
        ready: n(o.status?.readyReplicas),
        ...optional({
          selector: selectorText(o.spec?.selector),
          revision: text(o.metadata?.annotations?.['deployment.kubernetes.io/revision']),
          image: text(o.spec?.template?.spec?.containers?.[0]?.image),
        }),
      };
    case 'Pod': {
      const statuses: Json[] = o.status?.containerStatuses ?? [];
      const waiting = statuses.map((s) => s?.state?.waiting?.reason).find(Boolean);
      const terminated = statuses.map((s) => s?.state?.terminated?.reason).find(Boolean);
      return {
        ...base(o),
        kind,
        phase: String(o.status?.phase ?? 'Pending'),
        containers: (o.spec?.containers ?? []).map((c: Json) => String(c?.name ?? '')),
        ready: statuses.filter((s) => s?.ready).length,
        restarts: statuses.reduce((sum, s) => sum + n(s?.restartCount), 0),
        ...optional({
          reason: text(waiting ?? terminated ?? o.status?.reason),
          node: text(o.spec?.nodeName),
          ip: text(o.status?.podIP),
        }),
      };
    }
    case 'Service':
      return {
        ...base(o),
        kind,
        type: String(o.spec?.type ?? 'ClusterIP'),
        ports: (o.spec?.ports ?? []).map(
          (p: Json) =>
            `${p?.port}${p?.targetPort !== undefined ? `→${p.targetPort}` : ''}/${p?.protocol ?? 'TCP'}`,
        ),
        ...optional({
          selector: selectorText(o.spec?.selector ?? undefined),
          clusterIP: text(o.spec?.clusterIP),
        }),
      };
    case 'EndpointSlice':
      return {
        ...base(o),
        kind,
        endpoints: (o.endpoints ?? []).flatMap((e: Json) =>
          (e?.addresses ?? []).map((ip: string) => ({
            ip: String(ip),
            ready: e?.conditions?.ready !== false,
            ...optional({ pod: e?.targetRef?.kind === 'Pod' ? text(e.targetRef.name) : undefined }),
          })),
        ),
        ...optional({ service: text(o.metadata?.labels?.['kubernetes.io/service-name']) }),
      };
  }
}

/** A core/v1 Event as one line of the view. */
export function projectEvent(o: Json): ClusterEvent {
  const involved = o.involvedObject ?? o.regarding ?? {};
  return {
    uid: String(o.metadata?.uid ?? ''),
    type: String(o.type ?? 'Normal'),
    reason: String(o.reason ?? '').slice(0, 128),
    message: String(o.message ?? o.note ?? '').slice(0, 1024),
    object: `${involved.kind ?? '?'}/${involved.name ?? '?'}`,
    at:
      time(o.lastTimestamp) ??
      time(o.eventTime) ??
      time(o.series?.lastObservedTime) ??
      time(o.metadata?.creationTimestamp) ??
      new Date(0).toISOString(),
    count: n(o.count ?? o.series?.count ?? 1),
  };
}
