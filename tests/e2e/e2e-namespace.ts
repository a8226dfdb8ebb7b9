/**
 * The e2e run's own namespace on the shared test cluster. Local-mode sessions work in their
 * kubeconfig's namespace; with the cluster's own kubeconfig that was `default`, shared by every
 * run on the machine, and Pods other runs left there pushed a test's output off the terminal.
 * The runner makes a copy of the kubeconfig whose context names `kn-e2e-<port>`, creates that
 * namespace, and global-teardown.ts deletes both. Workers inherit the copy through the
 * environment, so the namespace is made once per run.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function kubectl(kubectlDir: string | undefined, kubeconfig: string, args: string[]) {
  const bin = kubectlDir ? join(kubectlDir, 'kubectl') : 'kubectl';
  return spawnSync(bin, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
}

/** The kubeconfig the run's servers and tests use: a copy whose namespace is the run's own. */
export function e2eKubeconfig(
  source: string,
  port: number,
  kubectlDir: string | undefined,
): string {
  const made = process.env.KUBENOTES_E2E_KUBECONFIG;
  if (made) return made;
  const namespace = `kn-e2e-${port}`;
  const copy = join(tmpdir(), `kubenotes-e2e-${port}.kubeconfig`);
  copyFileSync(source, copy);
  const create = kubectl(kubectlDir, copy, ['create', 'namespace', namespace]);
  if (create.status !== 0 && !/AlreadyExists/.test(create.stderr)) {
    throw new Error(`e2e: could not create namespace ${namespace}: ${create.stderr.trim()}`);
  }
  const set = kubectl(kubectlDir, copy, [
    'config',
    'set-context',
    '--current',
    '--namespace',
    namespace,
  ]);
  if (set.status !== 0) throw new Error(`e2e: could not set the namespace: ${set.stderr.trim()}`);
  process.env.KUBENOTES_E2E_KUBECONFIG = copy;
  process.env.KUBENOTES_E2E_NAMESPACE = namespace;
  return copy;
}

/** Deletes the run's namespace (without waiting for it to go) and the kubeconfig copy. */
export function removeE2eNamespace(): void {
  const copy = process.env.KUBENOTES_E2E_KUBECONFIG;
  const namespace = process.env.KUBENOTES_E2E_NAMESPACE;
  if (!copy || !namespace) return;
  kubectl(process.env.KUBENOTES_TEST_KUBECTL_DIR, copy, [
    'delete',
    'namespace',
    namespace,
    '--ignore-not-found',
    '--wait=false',
  ]);
  rmSync(copy, { force: true });
}
