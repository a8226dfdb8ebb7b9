/**
 * The test cluster as test runs share it: a run that uses it registers, and the last run to
 * leave stops it only if a test run started it (shared-service.ts). A cluster that was up
 * before (someone ran `test-cluster up`) is left up, and none is stopped under another run.
 */
import { type ServiceUse, SharedService } from '../support/shared-service.ts';
import {
  ensureTestCluster,
  stopTestCluster,
  type TestCluster,
  testClusterPaths,
  testClusterStatus,
} from './cluster.ts';

type Log = (line: string) => void;

export function testClusterService(log: Log): SharedService {
  return new SharedService(testClusterPaths().stateDir, 'the test cluster', log);
}

/** Starts or reuses the cluster, registered as one of its users. */
export function useTestCluster(log: Log): Promise<ServiceUse<TestCluster>> {
  return testClusterService(log).use(async (others) => {
    const wasUp = (await testClusterStatus()).up;
    const cluster = await ensureTestCluster({ log, inUseBy: others });
    return { value: cluster, started: !wasUp };
  });
}

/** Leaves it: stops it when a test run started it and no other run uses it. */
export function leaveTestCluster(use: ServiceUse<TestCluster>, log: Log): Promise<string> {
  if (process.env.KUBENOTES_KEEP_CLUSTER) return use.leaveRunning('KUBENOTES_KEEP_CLUSTER is set');
  return use.leave(() => stopTestCluster({ log }));
}
