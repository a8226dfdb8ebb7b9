/**
 * Stand-ins for `kind` and `docker` on PATH, for what happens while the sandbox's kind cluster
 * is made (the real one runs only in the kind tier): `kind create cluster` prints a progress
 * line, then waits until the test writes `go` (it succeeds: the cluster is the test cluster,
 * under kind's context name) or `fail` (it fails, as kind does) into `dir`.
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { context, kubeconfig } from './workshop-server.ts';

export const KIND_NAME = 'kubenotes-starting';
const NAME = KIND_NAME;

/** A folder with stand-in `kind` and `docker`; `go` or `fail` in it ends the creation. */
export function kindStandIns(): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-kind-'));
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig ?? '');
  config.setCurrentContext(context);
  const cluster = config.getCurrentCluster()!;
  const user = config.getCurrentUser()!;
  // The test cluster under the context name kind gives its clusters.
  const kind = new KubeConfig();
  kind.loadFromOptions({
    clusters: [cluster],
    users: [user],
    contexts: [{ name: `kind-${NAME}`, cluster: cluster.name, user: user.name }],
    currentContext: `kind-${NAME}`,
  });
  writeFileSync(join(dir, 'kubeconfig'), kind.exportConfig());
  const scripts: Record<string, string> = {
    kind: `#!/bin/sh
case "$1 $2" in
  "version "*) echo "kind v0.0.0-stand-in" ;;
  "get clusters") [ -e ${dir}/created ] && echo ${NAME}; exit 0 ;;
  "get kubeconfig") cat ${dir}/kubeconfig ;;
  "create cluster")
    echo "Creating cluster \\"${NAME}\\" ..." >&2
    echo " ✓ Ensuring node image" >&2
    while [ ! -e ${dir}/go ] && [ ! -e ${dir}/fail ]; do sleep 0.1; done
    [ -e ${dir}/fail ] && { echo "ERROR: failed to create cluster: no space left" >&2; exit 1; }
    touch ${dir}/created ;;
  *) exit 1 ;;
esac
`,
    docker: `#!/bin/sh
case "$1" in
  version|info) echo 27.0.0 ;;
  logs) echo "the node's last line" ;;
  *) exit 1 ;;
esac
`,
  };
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  return { dir, bin };
}
