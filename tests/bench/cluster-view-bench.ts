/**
 * `npm run bench cluster-view`: how long a change in the API server takes to reach the page's
 * model of the namespace (docs/cluster-view.md). An admin client relabels a Pod; the clock
 * stops when the subscribed terminal socket's client (the same model the page keeps) shows
 * the new label. Local mode, on the test cluster, in a namespace of its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { leaveTestCluster, useTestCluster } from '../cluster/cluster-users.ts';
import { ClusterViewClient } from '../support/cluster-view-client.ts';
import { startServerProcess } from '../support/server-process.ts';
import { createSession, endSession, TerminalClient } from '../support/terminal-client.ts';
import { currentContext, existingClusterArgs, shellPathWith } from '../support/workshop-server.ts';

const SAMPLES = Number(process.env.KUBENOTES_BENCH_VIEW_SAMPLES ?? 50);

export interface ClusterViewFigures {
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
  samples: number;
}

export async function clusterViewBench(): Promise<ClusterViewFigures> {
  const clusterUse = await useTestCluster(() => {});
  const cluster = clusterUse.value;
  const context = currentContext(cluster.kubeconfig);
  const namespace = `bench-view-${Date.now().toString(36)}`;
  const admin = new KubeConfig();
  admin.loadFromFile(cluster.kubeconfig);
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-view-bench-'));
  const reader = new KubeConfig();
  reader.loadFromFile(cluster.kubeconfig);
  reader.contexts = reader.contexts.map((c) => (c.name === context ? { ...c, namespace } : c));
  writeFileSync(join(dir, 'kubeconfig'), reader.exportConfig(), { mode: 0o600 });
  const server = await startServerProcess([
    ...existingClusterArgs(join(dir, 'kubeconfig'), context),
    '--shell-path',
    shellPathWith(cluster.binDir),
  ]);
  try {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'timed', labels: { sample: 'none' } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.29-alpine' }] },
      },
    });
    const session = await createSession(server.url);
    const term = await TerminalClient.open(server.url, session);
    const view = new ClusterViewClient(term);
    await view.subscribe();
    await view.until((t) => t.pods.some((p) => p.name === 'timed'), 'the Pod');
    const times: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const value = `s${i}`;
      const started = performance.now();
      await core.patchNamespacedPod({
        name: 'timed',
        namespace,
        body: [{ op: 'replace', path: '/metadata/labels/sample', value }],
      });
      await view.until(
        (t) => t.pods.some((p) => p.labels.sample === value),
        `label ${value}`,
        10_000,
      );
      times.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 50));
    }
    term.close();
    await endSession(server.url, session);
    times.sort((a, b) => a - b);
    const at = (q: number) =>
      times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;
    return {
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      maxMs: times.at(-1) ?? Number.NaN,
      samples: times.length,
    };
  } finally {
    await server.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await leaveTestCluster(clusterUse, () => {});
  }
}
