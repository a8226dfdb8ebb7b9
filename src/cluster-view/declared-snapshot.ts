/**
 * A chapter's diagram, declared in a few lines of YAML, made into the objects the live view
 * would show (shared/cluster-objects.ts), so `<ClusterPicture>` draws it with the live view's
 * renderer. What a reader would otherwise have to keep consistent by hand (names derived
 * from their owner, owner references, pod-template-hash, ready counts, a Service's endpoints
 * from the Pods its selector matches) is derived here.
 *
 *   deployment: { name: web, replicas: 3, maxSurge: 1, maxUnavailable: 0 }
 *   replicaSets:
 *     - { revision: 1, image: nginx:1.29-alpine, pods: [Running, Terminating] }
 *     - { revision: 2, image: nginx:1.30-alpine, pods: [Running, Pending] }
 *   pods: [{ name: debug, labels: { app: web, track: canary } }]
 *   services: [{ name: web, selector: app=web, ports: ['80'] }]
 */
import { z } from 'zod';
import { ClusterModel } from '../../sandbox-server/src/shared/cluster-model.ts';
import type {
  ClusterObject,
  PodView,
  ReplicaSetView,
} from '../../sandbox-server/src/shared/cluster-objects.ts';
import { matches, parseSelector } from '../../sandbox-server/src/shared/label-selector.ts';

const Phase = z.enum(['Running', 'Pending', 'Terminating', 'Failed', 'Succeeded']);
const Labels = z.record(z.string(), z.string());

const Pod = z.object({
  name: z.string().optional(),
  phase: Phase.default('Running'),
  reason: z.string().optional(),
  labels: Labels.optional(),
  containers: z.array(z.string()).optional(),
  restarts: z.number().int().min(0).default(0),
  node: z.string().optional(),
  ip: z.string().optional(),
});

export const DeclaredSnapshot = z.object({
  deployment: z
    .object({
      name: z.string(),
      replicas: z.number().int().min(0).optional(),
      maxSurge: z.union([z.string(), z.number()]).optional(),
      maxUnavailable: z.union([z.string(), z.number()]).optional(),
      labels: Labels.optional(),
    })
    .optional(),
  replicaSets: z
    .array(
      z.object({
        revision: z.number().int().min(1).optional(),
        /** the pod-template-hash in its name, to match a chapter's output */
        hash: z.string().optional(),
        image: z.string().optional(),
        replicas: z.number().int().min(0).optional(),
        pods: z.array(z.union([Phase, Pod])).default([]),
      }),
    )
    .default([]),
  pods: z.array(Pod).default([]),
  services: z
    .array(
      z.object({
        name: z.string(),
        selector: z.string().optional(),
        type: z.string().default('ClusterIP'),
        ports: z.array(z.string()).default([]),
      }),
    )
    .default([]),
});
export type DeclaredSnapshot = z.input<typeof DeclaredSnapshot>;

const HASHES = ['5d9f7c6b8', '7c6d8f9b4', '6b8d7f5c9', '84f6c9d7b'];
const SUFFIXES = ['x2k4q', 'm8n3p', 't7w9z', 'b4c6d', 'q5r8s', 'h3j7k', 'v9l2f', 'c6p4n'];
const CREATED = '2026-01-01T12:00:00.000Z';

/** A small number from a name: the same Pod keeps its node and IP from one step to the next. */
function nameHash(name: string): number {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h;
}

/** Reads the declaration; throws an error that says which field is wrong. */
export function declaredObjects(input: unknown): ClusterObject[] {
  const parsed = DeclaredSnapshot.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `The diagram's snapshot is not valid: ${issue?.path.join('.') || 'it'} ${issue?.message}.`,
    );
  }
  const spec = parsed.data;
  const objects: ClusterObject[] = [];
  let podCount = 0;
  const pod = (
    declared: z.infer<typeof Pod> | z.infer<typeof Phase>,
    base: { name: string; labels: Record<string, string>; owner?: ReplicaSetView },
  ): PodView => {
    const p = typeof declared === 'string' ? Pod.parse({ phase: declared }) : declared;
    const containers = p.containers ?? ['app'];
    const running = p.phase === 'Running';
    const name = p.name ?? `${base.name}-${SUFFIXES[podCount % SUFFIXES.length]}`;
    podCount++;
    return {
      kind: 'Pod',
      uid: `pod-${name}`,
      name,
      labels: p.labels ?? base.labels,
      created: CREATED,
      ...(base.owner
        ? { owner: { kind: 'ReplicaSet', name: base.owner.name, uid: base.owner.uid } }
        : {}),
      ...(p.phase === 'Terminating' ? { deleting: true } : {}),
      phase: p.phase === 'Terminating' ? 'Running' : p.phase,
      ...(p.reason
        ? { reason: p.reason }
        : p.phase === 'Pending'
          ? { reason: 'ContainerCreating' }
          : {}),
      containers,
      ready: running ? containers.length : 0,
      restarts: p.restarts,
      node: p.node ?? `node-${(nameHash(name) % 2) + 1}`,
      ...(p.phase === 'Pending'
        ? {}
        : { ip: p.ip ?? `10.244.${nameHash(name) % 4}.${10 + (nameHash(name) % 240)}` }),
    };
  };

  const d = spec.deployment;
  const appLabels = d?.labels ?? (d ? { app: d.name } : {});
  const deploymentUid = d ? `deployment-${d.name}` : undefined;
  const allPods: PodView[] = [];
  spec.replicaSets.forEach((r, i) => {
    const revision = r.revision ?? i + 1;
    const hash = r.hash ?? HASHES[(revision - 1) % HASHES.length] ?? '5d9f7c6b8';
    const name = `${d?.name ?? 'app'}-${hash}`;
    const labels = { ...appLabels, 'pod-template-hash': hash };
    const pods = r.pods.map((p) => pod(p, { name, labels }));
    const rs: ReplicaSetView = {
      kind: 'ReplicaSet',
      uid: `replicaset-${name}`,
      name,
      labels,
      created: CREATED,
      ...(d && deploymentUid
        ? { owner: { kind: 'Deployment', name: d.name, uid: deploymentUid } }
        : {}),
      selector: Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      revision: String(revision),
      replicas: r.replicas ?? pods.filter((p) => !p.deleting).length,
      ready: pods.filter((p) => p.ready > 0 && !p.deleting).length,
      ...(r.image ? { image: r.image } : {}),
    };
    for (const p of pods) {
      p.owner = { kind: 'ReplicaSet', name: rs.name, uid: rs.uid };
    }
    objects.push(rs, ...pods);
    allPods.push(...pods);
  });
  for (const p of spec.pods) {
    const made = pod(p, { name: p.name ?? 'pod', labels: p.labels ?? {} });
    objects.push(made);
    allPods.push(made);
  }
  if (d && deploymentUid) {
    const live = allPods.filter((p) => p.owner && !p.deleting);
    const newest = objects.filter((o) => o.kind === 'ReplicaSet').at(-1);
    objects.unshift({
      kind: 'Deployment',
      uid: deploymentUid,
      name: d.name,
      labels: appLabels,
      created: CREATED,
      selector: Object.entries(appLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      replicas: d.replicas ?? live.length,
      ready: live.filter((p) => p.ready > 0).length,
      updated: live.filter((p) => p.owner?.uid === newest?.uid).length,
      available: live.filter((p) => p.ready > 0).length,
      strategy: 'RollingUpdate',
      maxSurge: String(d.maxSurge ?? '25%'),
      maxUnavailable: String(d.maxUnavailable ?? '25%'),
    });
  }
  for (const s of spec.services) {
    const parsed = s.selector === undefined ? undefined : parseSelector(s.selector);
    if (parsed && !parsed.ok) {
      throw new Error(`The diagram's Service ${s.name} has a bad selector: ${parsed.error}`);
    }
    objects.push({
      kind: 'Service',
      uid: `service-${s.name}`,
      name: s.name,
      labels: {},
      created: CREATED,
      ...(s.selector ? { selector: s.selector } : {}),
      type: s.type,
      clusterIP: '10.96.0.20',
      ports: s.ports,
    });
    const selected = parsed?.ok
      ? allPods.filter((p) => !p.deleting && p.ip && matches(parsed.selector, p.labels))
      : [];
    objects.push({
      kind: 'EndpointSlice',
      uid: `endpointslice-${s.name}`,
      name: `${s.name}-abcde`,
      labels: { 'kubernetes.io/service-name': s.name },
      service: s.name,
      endpoints: selected.map((p) => ({ ip: p.ip ?? '', ready: p.ready > 0, pod: p.name })),
    });
  }
  return objects;
}

/** The same objects in a model, for the renderer's tree and selector helpers. */
export function declaredModel(input: unknown): ClusterModel {
  const model = new ClusterModel();
  model.snapshot('default', declaredObjects(input), []);
  return model;
}
