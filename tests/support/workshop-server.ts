/**
 * What the workshop-mode integration tests share: the test cluster `npm test` started, its
 * context, the shells' PATH, and a workshop server's arguments on it.
 */
import { readFileSync } from 'node:fs';

export const kubeconfig = process.env.KUBENOTES_TEST_KUBECONFIG;
export const kubectlDir = process.env.KUBENOTES_TEST_KUBECTL_DIR;
export const noTestCluster = kubeconfig
  ? false
  : 'no test cluster: run through `npm test`, which starts it';
/** The context a kubeconfig file names as current (the test cluster's has one). */
export function currentContext(kubeconfigPath: string): string {
  return /^current-context:\s*"?([^"\s]+)/m.exec(readFileSync(kubeconfigPath, 'utf8'))?.[1] ?? '';
}
export const context = kubeconfig ? currentContext(kubeconfig) : '';

/** The shells' PATH: kubectl's folder first, then the system's. */
export function shellPathWith(binDir: string | undefined): string {
  return [binDir, '/usr/local/bin', '/usr/bin', '/bin'].filter(Boolean).join(':');
}
export const shellPath = shellPathWith(kubectlDir);

/** A server on an existing cluster (the test cluster's kubeconfig, its current context). */
export function existingClusterArgs(
  kubeconfigPath: string,
  contextName = currentContext(kubeconfigPath),
): string[] {
  return ['--cluster', 'existing', '--kubeconfig', kubeconfigPath, '--context', contextName];
}

/** A workshop server's arguments: its own instance, sandboxed shells, one join code. */
export function workshopServerArgs(
  kubeconfigPath: string,
  contextName: string,
  binDir: string | undefined,
  instance: string,
  joinCode: string,
  extra: string[],
): string[] {
  return [
    '--mode',
    'workshop',
    ...existingClusterArgs(kubeconfigPath, contextName),
    '--instance',
    instance,
    '--shell-path',
    shellPathWith(binDir),
    '--join-code',
    joinCode,
    ...extra,
  ];
}

/** A workshop on the test cluster `npm test` started. */
export function workshopArgs(instance: string, joinCode: string, extra: string[] = []): string[] {
  return workshopServerArgs(kubeconfig ?? '', context, kubectlDir, instance, joinCode, extra);
}

/**
 * A workshop on a cluster a bench started, with kubectl's folder read-only in every sandbox.
 */
export function workshopArgsOn(
  cluster: { kubeconfig: string; binDir: string },
  instance: string,
  joinCode: string,
  extra: string[] = [],
): string[] {
  return workshopServerArgs(
    cluster.kubeconfig,
    currentContext(cluster.kubeconfig),
    cluster.binDir,
    instance,
    joinCode,
    ['--sandbox-read-only', cluster.binDir, ...extra],
  );
}

/** The image of the guide's Pods: nginx built to run as an ordinary user (uid 101), on 8080. */
export const UNPRIVILEGED_NGINX = 'nginxinc/nginx-unprivileged:1.29-alpine';

/** What Pod Security `restricted`, a workshop's default, requires of a Pod's spec. */
export function restrictedPodSpec(
  container: string,
  image = UNPRIVILEGED_NGINX,
  ports: number[] = [],
) {
  return {
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 101,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: container,
        image,
        ...(ports.length > 0 ? { ports: ports.map((containerPort) => ({ containerPort })) } : {}),
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  };
}

/** `kubectl run`'s --overrides for a Pod that `restricted` admits (the container is the Pod's name). */
export function restrictedOverrides(
  name: string,
  image = UNPRIVILEGED_NGINX,
  ports: number[] = [],
): string {
  return `--overrides='${JSON.stringify({ spec: restrictedPodSpec(name, image, ports) })}'`;
}

/** A `kubectl run` of a Pod that `restricted` admits, from the guide's image. */
export function runRestrictedPod(name: string, ports: number[] = []): string {
  return `kubectl run ${name} --image=${UNPRIVILEGED_NGINX} --restart=Never ${restrictedOverrides(name, UNPRIVILEGED_NGINX, ports)}`;
}

/** A shell command that creates a Deployment `restricted` admits, like the chapters' manifests. */
export function createRestrictedDeployment(name: string, replicas = 1): string {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: restrictedPodSpec('nginx') },
    },
  };
  return `echo '${JSON.stringify(deployment)}' | kubectl create -f -`;
}
