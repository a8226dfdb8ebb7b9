// CLI for the local test cluster (real control plane + kwok-simulated nodes).
//
//   node tests/cluster/test-cluster.ts up       build if needed, start or reuse; last line: "kubeconfig: <path>"
//   node tests/cluster/test-cluster.ts down     delete the cluster, leave no process
//   node tests/cluster/test-cluster.ts status   exit 0 if up, 1 if down
//   node tests/cluster/test-cluster.ts smoke    up, then check pods/deployments/logs/exec/port-forward
//
// Progress goes to stderr; stdout carries only the result lines.

import {
  CLUSTER_NAME,
  ensureTestCluster,
  stopTestCluster,
  testClusterPaths,
  testClusterStatus,
} from './cluster.ts';
import { testClusterService } from './cluster-users.ts';
import { runSmokeChecks } from './smoke.ts';

const usage = `usage: node tests/cluster/test-cluster.ts <up|down|status|smoke>

  up      build the binaries if needed (a cold build takes 20-35 minutes), then start the
          test cluster or reuse the running one; prints "kubeconfig: <path>" last. A cluster
          asked for with up is left up by test runs (they stop only one they started)
  down    delete the test cluster and stop all of its processes
  status  print whether it is up and its kubeconfig path; exit 0 if up, 1 if down
  smoke   up, then run quick checks in a throwaway namespace (kubectl run/wait/logs/exec,
          Deployments, scaling, replacement, rollout, Services, port-forward, Jobs);
          ends with "N passed, N failed"; exit 1 if any failed

Cache: \${KUBENOTES_CACHE:-~/.cache/kubenotes} (now ${testClusterPaths().cacheDir})`;

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (argv.length !== 1) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  switch (command) {
    case 'up': {
      const cluster = await ensureTestCluster();
      // Asked for by hand: test runs that reuse it leave it up (tests/README.md).
      testClusterService(log).clearStarter();
      process.stderr.write('test runs leave this cluster up; stop it with `test-cluster down`\n');
      process.stderr.write(`kubectl: ${cluster.kubectl}\n`);
      process.stdout.write(`kubeconfig: ${cluster.kubeconfig}\n`);
      return 0;
    }
    case 'smoke': {
      const cluster = await ensureTestCluster();
      const result = await runSmokeChecks(cluster);
      return result.failed === 0 ? 0 : 1;
    }
    case 'down':
      await stopTestCluster();
      testClusterService(log).clearStarter();
      return 0;
    case 'status': {
      const status = await testClusterStatus();
      if (status.up) {
        process.stdout.write(
          `test cluster ${CLUSTER_NAME} is up\nkubeconfig: ${status.kubeconfig}\n`,
        );
        return 0;
      }
      process.stdout.write(
        `test cluster ${CLUSTER_NAME} is down: ${status.reason}\nkubeconfig: ${status.kubeconfig}\n`,
      );
      return 1;
    }
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${usage}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${usage}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `test-cluster: error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
