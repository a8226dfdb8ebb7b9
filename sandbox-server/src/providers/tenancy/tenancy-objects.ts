/**
 * The Kubernetes objects that make one participant's slice of the cluster, as plain data
 * (pure; unit-tested). Everything carries the server's labels, so a restart finds and removes
 * what a crash left behind.
 */
import type {
  V1LimitRange,
  V1Namespace,
  V1NetworkPolicy,
  V1ResourceQuota,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { SETTINGS } from '../../config/settings.ts';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const INSTANCE = 'kubenotes.dev/instance';
export const SESSION = 'kubenotes.dev/session';
export const PARTICIPANT = 'participant';

export interface TenancyLimits {
  pods: number;
  cpu: string;
  memory: string;
  /** defaults given to containers that set none, so quota'd pods still start */
  defaultCpu: string;
  defaultMemory: string;
  defaultCpuRequest: string;
  defaultMemoryRequest: string;
}

export const DEFAULT_LIMITS: TenancyLimits = {
  pods: 20,
  cpu: '2',
  memory: '2Gi',
  // Small enough that the quota's CPU and memory admit the pod count (2 CPU / 200m = 10 pods):
  // with 500m, 4 pods filled it, and the rolling-update chapter needs 4 plus a surge pod.
  defaultCpu: '200m',
  defaultMemory: '128Mi',
  defaultCpuRequest: '50m',
  defaultMemoryRequest: '64Mi',
};

/**
 * Pod Security admission on every participant namespace. Without it the Role's `pods: create`
 * let a participant run a privileged pod with the node's / and pid namespace mounted, i.e.
 * root on the node. `baseline` refuses privileged pods, host namespaces, hostPath, host ports
 * and added capabilities; `restricted` (the default: the guide's Pods run under it) also
 * requires non-root, no privilege escalation, every capability dropped and seccomp
 * RuntimeDefault. Warnings name what the enforced level refuses, no more: a warning on every
 * `kubectl run` of the guide would only puzzle a beginner.
 */
export type PodSecurityLevel = 'restricted' | 'baseline';

export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return {
    'pod-security.kubernetes.io/enforce': level,
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/warn': level,
    'pod-security.kubernetes.io/warn-version': 'latest',
  };
}

export function labels(instance: string, sessionId: string): Record<string, string> {
  return { [MANAGED_BY]: 'kubenotes', [INSTANCE]: instance, [SESSION]: sessionId };
}

/** The label selector for every namespace this server instance made. */
export function instanceSelector(instance: string): string {
  return `${MANAGED_BY}=kubenotes,${INSTANCE}=${instance}`;
}

export function namespaceName(sessionId: string): string {
  return `kn-${sessionId}`.slice(0, 63);
}

export interface TenancyObjects {
  namespace: V1Namespace;
  serviceAccount: V1ServiceAccount;
  role: V1Role;
  roleBinding: V1RoleBinding;
  quota: V1ResourceQuota;
  limitRange: V1LimitRange;
  networkPolicy: V1NetworkPolicy;
}

/** What the guide needs inside the namespace, and nothing cluster-wide (a Role, not a ClusterRole). */
export const RULES = [
  {
    apiGroups: [''],
    resources: [
      'pods',
      'pods/log',
      'pods/exec',
      'pods/portforward',
      'pods/attach',
      'services',
      'configmaps',
      'persistentvolumeclaims',
    ],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'],
  },
  // Endpoints read-only: written by hand, a selector-less Service could point at another
  // participant's Pod IP (CVE-2021-25740; taken out of edit/admin in Kubernetes 1.22).
  {
    apiGroups: [''],
    resources: ['endpoints', 'events', 'resourcequotas', 'limitranges'],
    verbs: ['get', 'list', 'watch'],
  },
  {
    apiGroups: ['apps'],
    resources: [
      'deployments',
      'deployments/scale',
      'replicasets',
      'replicasets/scale',
      'statefulsets',
      'daemonsets',
      'controllerrevisions',
    ],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'],
  },
  {
    apiGroups: ['batch'],
    resources: ['jobs', 'cronjobs'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['get', 'list', 'watch'] },
  // The Services chapter reads a Service's endpoints as EndpointSlices (the controller writes them).
  {
    apiGroups: ['discovery.k8s.io'],
    resources: ['endpointslices'],
    verbs: ['get', 'list', 'watch'],
  },
  // Opening the participant's apps (http/app-proxy.ts): reading through the proxy only, so
  // GET and HEAD; no other verb on these subresources.
  { apiGroups: [''], resources: ['services/proxy', 'pods/proxy'], verbs: ['get'] },
];

export function tenancyObjects(
  sessionId: string,
  instance: string,
  limits: TenancyLimits = DEFAULT_LIMITS,
  podSecurity: PodSecurityLevel = SETTINGS.podSecurity.default as PodSecurityLevel,
): TenancyObjects {
  const name = namespaceName(sessionId);
  const metadata = (objectName: string) => ({
    name: objectName,
    namespace: name,
    labels: labels(instance, sessionId),
  });
  return {
    namespace: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: { ...labels(instance, sessionId), ...podSecurityLabels(podSecurity) },
      },
    },
    serviceAccount: {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: metadata(PARTICIPANT),
      automountServiceAccountToken: false,
    },
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: metadata(PARTICIPANT),
      rules: RULES,
    },
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: metadata(PARTICIPANT),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: PARTICIPANT },
      subjects: [{ kind: 'ServiceAccount', name: PARTICIPANT, namespace: name }],
    },
    quota: {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: metadata('participant-quota'),
      spec: {
        hard: {
          pods: String(limits.pods),
          'requests.cpu': limits.cpu,
          'requests.memory': limits.memory,
          'limits.cpu': limits.cpu,
          'limits.memory': limits.memory,
          services: '10',
          'services.nodeports': '0',
          'services.loadbalancers': '0',
          configmaps: '20',
          secrets: '20',
          persistentvolumeclaims: '5',
          'count/deployments.apps': '10',
          'count/replicasets.apps': '50',
          'count/jobs.batch': '10',
          // Every kind a participant can create has a count, so none can fill etcd.
          'count/cronjobs.batch': '5',
          'count/statefulsets.apps': '5',
          'count/daemonsets.apps': '2',
          'count/controllerrevisions.apps': '50',
          'requests.storage': '5Gi',
          // A node's disk: container writable layers, emptyDir and logs (defaults below).
          'requests.ephemeral-storage': '2Gi',
          'limits.ephemeral-storage': '5Gi',
        },
      },
    },
    limitRange: {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: metadata('participant-defaults'),
      spec: {
        limits: [
          {
            type: 'Container',
            // Ephemeral storage too: with it in the quota, a pod without it would be refused.
            _default: {
              cpu: limits.defaultCpu,
              memory: limits.defaultMemory,
              'ephemeral-storage': '256Mi',
            },
            defaultRequest: {
              cpu: limits.defaultCpuRequest,
              memory: limits.defaultMemoryRequest,
              'ephemeral-storage': '64Mi',
            },
          },
        ],
      },
    },
    // Only pods of this namespace may reach its pods, and its pods reach only each other and
    // the cluster's DNS: not other sessions, the node, the API server or the internet.
    // Enforced only where the cluster's CNI implements NetworkPolicy.
    networkPolicy: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata('isolate-from-other-sessions'),
      spec: {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ _from: [{ podSelector: {} }] }],
        egress: [
          { to: [{ podSelector: {} }] },
          {
            to: [
              {
                namespaceSelector: {
                  matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
                },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    },
  };
}
