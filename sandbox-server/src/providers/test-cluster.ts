/**
 * The project's own test cluster (tests/cluster): a real API server with simulated kwok nodes,
 * whose `kubectl exec` runs commands on the machine itself and whose etcd listens on loopback
 * without authentication. Fine for the tests; for a workshop it would hand participants the
 * machine. Workshop mode refuses it unless the tests say otherwise (KUBENOTES_ALLOW_TEST_CLUSTER=1).
 */
import type { KubeConfig } from '@kubernetes/client-node';

/** The kwokctl cluster name tests/cluster gives the test cluster. */
export const TEST_CLUSTER_NAME = 'kubenotes-test';

/** The test-only environment variable that lets workshop mode use the test cluster. */
export const ALLOW_TEST_CLUSTER_ENV = 'KUBENOTES_ALLOW_TEST_CLUSTER';

/** Whether the kubeconfig's current cluster is the test cluster (kwokctl names it kwok-<name>). */
export function isTestCluster(kubeconfig: KubeConfig): boolean {
  return kubeconfig.getCurrentCluster()?.name === `kwok-${TEST_CLUSTER_NAME}`;
}

/** Throws, saying why, when workshop mode is pointed at the test cluster without the flag. */
export function refuseTestCluster(kubeconfig: KubeConfig, env: NodeJS.ProcessEnv): void {
  if (!isTestCluster(kubeconfig) || env[ALLOW_TEST_CLUSTER_ENV] === '1') return;
  throw new Error(
    `The kubeconfig names the project's test cluster (kwok-${TEST_CLUSTER_NAME}): its kubectl exec runs commands on this machine and its etcd has no authentication, so workshop mode will not hand it to participants. Use a real cluster (kind, or --cluster existing); tests set ${ALLOW_TEST_CLUSTER_ENV}=1.`,
  );
}
