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
export const context = kubeconfig
  ? (/^current-context:\s*"?([^"\s]+)/m.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '')
  : '';
export const shellPath = [kubectlDir, '/usr/local/bin', '/usr/bin', '/bin']
  .filter(Boolean)
  .join(':');

/** A workshop on the test cluster: its own instance, sandboxed shells, one join code. */
export function workshopArgs(instance: string, joinCode: string, extra: string[] = []): string[] {
  return [
    '--mode',
    'workshop',
    '--cluster',
    'existing',
    '--kubeconfig',
    kubeconfig ?? '',
    '--context',
    context,
    '--instance',
    instance,
    '--shell-path',
    shellPath,
    '--join-code',
    joinCode,
    ...extra,
  ];
}
