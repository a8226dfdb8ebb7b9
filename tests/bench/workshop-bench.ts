import { readdirSync, readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { leaveTestCluster, useTestCluster } from '../cluster/cluster-users.ts';
import { ClusterViewClient } from '../support/cluster-view-client.ts';
import { startServerProcess } from '../support/server-process.ts';
import {
  type CreatedSession,
  createSession,
  endSession,
  TerminalClient,
} from '../support/terminal-client.ts';
import { workshopArgsOn } from '../support/workshop-server.ts';

const SESSIONS = Number(process.env.KUBENOTES_BENCH_SESSIONS ?? 300);
const PROMPT_SAMPLES = 10;
const JOIN = 'bench-join-code';
const UID_FIRST = 1_900_100_000;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  return (
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
  );
}

/** Live processes running as one of the sandbox uids. */
function sandboxProcesses(): number {
  let count = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1]);
      if (uid >= UID_FIRST && uid < UID_FIRST + 1000) count++;
    } catch {
      // gone
    }
  }
  return count;
}

async function inBatches<T>(
  items: T[],
  size: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size)
    await Promise.all(items.slice(i, i + size).map(work));
}

export interface WorkshopFigures {
  promptMs: number;
  createSeconds: number;
  idleRssMiB: number;
  baselineRssMiB: number;
  idleCpuPercent: number;
  endSeconds: number;
  namespacesLeft: number;
  processesLeft: number;
  sessions: number;
}

export interface WorkshopOptions {
  /** every session subscribes to the cluster view (docs/cluster-view.md) */
  view?: boolean;
  /** during the measured 10 s, a Pod is created in one session's namespace every 100 ms */
  churn?: boolean;
}

export async function workshopBench(options: WorkshopOptions = {}): Promise<WorkshopFigures> {
  // Shared with test runs: left as found, stopped at the end only if this started it.
  const clusterUse = await useTestCluster(() => {});
  const cluster = clusterUse.value;
  const instance = `bench${Date.now().toString(36)}`;
  const server = await startServerProcess(
    workshopArgsOn(cluster, instance, JOIN, [
      '--max-sessions',
      String(SESSIONS + PROMPT_SAMPLES + 5),
      '--sessions-per-minute',
      '100000',
      '--sandbox-uid-first',
      String(UID_FIRST),
      '--sandbox-uid-last',
      String(UID_FIRST + 999),
    ]),
  );
  const { url, child } = server;
  const end = (s: CreatedSession) => endSession(url, s);
  try {
    const prompts: number[] = [];
    for (let i = 0; i < PROMPT_SAMPLES; i++) {
      const t = performance.now();
      const session = await createSession(url, { joinCode: JOIN });
      const term = await TerminalClient.open(url, session);
      prompts.push(performance.now() - t);
      term.close();
      await end(session);
    }
    prompts.sort((a, b) => a - b);

    const baselineRssMiB = rssMiB(child.pid!);
    const created: CreatedSession[] = [];
    const terms: TerminalClient[] = [];
    const t0 = performance.now();
    await inBatches(
      Array.from({ length: SESSIONS }, (_, i) => i),
      10,
      async () => {
        const session = await createSession(url, { joinCode: JOIN });
        created.push(session);
        terms.push(await TerminalClient.open(url, session));
      },
    );
    const createSeconds = (performance.now() - t0) / 1000;
    if (options.view) {
      await inBatches(terms, 20, (term) => new ClusterViewClient(term).subscribe(60_000));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const admin0 = new KubeConfig();
    admin0.loadFromFile(cluster.kubeconfig);
    const churnCore = admin0.makeApiClient(CoreV1Api);
    const cpu0 = cpuSeconds(child.pid!);
    if (options.churn) {
      for (let i = 0; i < 100; i++) {
        const session = created[i % created.length]!;
        void churnCore
          .createNamespacedPod({
            namespace: session.namespace,
            body: {
              metadata: { name: `churn-${i}` },
              spec: { containers: [{ name: 'app', image: 'nginx:1.29-alpine' }] },
            },
          })
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    } else {
      await new Promise((r) => setTimeout(r, 10_000));
    }
    const idleCpuPercent = ((cpuSeconds(child.pid!) - cpu0) / 10) * 100;
    const idleRssMiB = rssMiB(child.pid!);

    const t1 = performance.now();
    for (const term of terms) term.close();
    await inBatches(created, 20, async (s) => {
      await end(s);
    });
    // Deleted namespaces finish terminating in the background; wait for them to be gone.
    const admin = new KubeConfig();
    admin.loadFromFile(cluster.kubeconfig);
    const core = admin.makeApiClient(CoreV1Api);
    let namespacesLeft = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 120 && namespacesLeft > 0; i++) {
      const list = await core.listNamespace({
        labelSelector: `kubenotes.dev/instance=${instance}`,
      });
      namespacesLeft = list.items.length;
      if (namespacesLeft > 0) await new Promise((r) => setTimeout(r, 1000));
    }
    const endSeconds = (performance.now() - t1) / 1000;
    return {
      promptMs: prompts[Math.floor(prompts.length / 2)] ?? Number.NaN,
      createSeconds,
      idleRssMiB,
      baselineRssMiB,
      idleCpuPercent,
      endSeconds,
      namespacesLeft,
      processesLeft: sandboxProcesses(),
      sessions: SESSIONS,
    };
  } finally {
    await server.stop();
    await leaveTestCluster(clusterUse, () => {});
  }
}
