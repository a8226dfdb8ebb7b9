/**
 * How soon a task turns green: from the end mark of the reader's command to the server's
 * answer, on the test cluster in local mode. The page waits AUTO_CHECK_DELAY_MS after the end
 * mark before asking (so a Run of several commands is checked once); the figure adds it.
 * Three checks: one that runs nothing (the floor: a process as the session), one bare kubectl
 * call (what kubectl costs on its own), and the Pods chapter's (one kubectl call and a few
 * tests in bash).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { TaskMessage } from '../../sandbox-server/src/shared/protocol.ts';
import { AUTO_CHECK_DELAY_MS } from '../../src/client/auto-check.ts';
import { taskManifest } from '../../src/snippets/write-task-manifest.ts';
import { leaveTestCluster, useTestCluster } from '../cluster/cluster-users.ts';
import { startServerProcess } from '../support/server-process.ts';
import { createSession, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer } from '../support/test-server.ts';
import {
  existingClusterArgs,
  runRestrictedPod,
  shellPathWith,
  workshopArgsOn,
} from '../support/workshop-server.ts';
import { percentile } from './server-bench.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SAMPLES = 20;

export interface TaskFigures {
  /** median ms from the check message to the answer, by check */
  floorMs: number;
  /** a check of one bare kubectl call: what kubectl itself costs */
  oneKubectlMs: number;
  kubectlMs: number;
  kubectlP90Ms: number;
  /** end mark → green on screen: the page's delay plus the kubectl check */
  endMarkToGreenMs: number;
}

export async function taskBench(): Promise<TaskFigures> {
  // Shared with test runs: left as found, stopped at the end only if this started it.
  const clusterUse = await useTestCluster(() => {});
  const cluster = clusterUse.value;
  const manifest = taskManifest(join(ROOT, 'content'));
  manifest.chapters.bench = {
    floor: { title: 'floor', line: 1, check: 'exit 0', variables: {} },
    kubectl: {
      title: 'one kubectl',
      line: 1,
      check: 'kubectl get pods -o name >/dev/null',
      variables: {},
    },
  };
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-task-bench-'));
  const file = join(dir, 'tasks.json');
  writeFileSync(file, JSON.stringify(manifest));
  const server = await startTestServer(
    [...existingClusterArgs(cluster.kubeconfig), '--tasks', file],
    {
      env: { PATH: shellPathWith(cluster.binDir) },
    },
  );
  try {
    const session = await createSession(server.url);
    const term = await TerminalClient.open(server.url, session, { cols: 160 });
    const name = `bench-${Date.now().toString(36)}`;
    await term.run(runRestrictedPod(name, [8080]));
    await term.run(`kubectl wait --for=condition=Ready pod/${name} --timeout=60s`);
    const time = async (chapter: string, task: string, variables = {}): Promise<number> => {
      const from = term.messages.length;
      const started = performance.now();
      term.send({ type: 'check', chapter, tasks: [task], variables });
      await term.waitFor(
        () => term.messages.slice(from).some((m) => m.type === 'task' && m.task === task),
        30_000,
        task,
      );
      const answer = term.messages.slice(from).find((m): m is TaskMessage => m.type === 'task');
      if (answer?.state !== 'done') throw new Error(`${task}: ${answer?.message}`);
      return performance.now() - started;
    };
    const floor: number[] = [];
    const one: number[] = [];
    const kubectl: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      floor.push(await time('bench', 'floor'));
      one.push(await time('bench', 'kubectl'));
      kubectl.push(await time('pods', 'pod-with-port', { task_pod: name }));
    }
    await term.run(`kubectl delete pod ${name} --wait=false`);
    term.close();
    const kubectlMs = percentile(kubectl, 50);
    return {
      floorMs: percentile(floor, 50),
      oneKubectlMs: percentile(one, 50),
      kubectlMs,
      kubectlP90Ms: percentile(kubectl, 90),
      endMarkToGreenMs: AUTO_CHECK_DELAY_MS + kubectlMs,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    await leaveTestCluster(clusterUse, () => {});
  }
}

export interface WorkshopTaskFigures {
  /** end mark → green: the page's delay, then the Pods task's check in the participant's sandbox */
  p50Ms: number;
  p95Ms: number;
  /** the check alone, message → answer */
  checkP50Ms: number;
  /** a check that runs nothing, message → answer: what starting the sandbox costs */
  floorP50Ms: number;
  samples: number;
}

const WORKSHOP_SAMPLES = 20;

/**
 * The same figure in a workshop: the participant's shell and the check both run in their
 * bubblewrap sandbox (their uid, cgroup and network), and kubectl reaches the API server
 * through the session's relay with the participant's token. Each sample is a command typed
 * in the sandboxed shell; from its end mark the page waits AUTO_CHECK_DELAY_MS, then asks.
 */
export async function workshopTaskBench(): Promise<WorkshopTaskFigures> {
  const clusterUse = await useTestCluster(() => {});
  const cluster = clusterUse.value;
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-task-bench-'));
  const file = join(dir, 'tasks.json');
  const manifest = taskManifest(join(ROOT, 'content'));
  manifest.chapters.bench = { floor: { title: 'floor', line: 1, check: 'exit 0', variables: {} } };
  writeFileSync(file, JSON.stringify(manifest));
  const join_ = 'bench-tasks-join';
  const server = await startServerProcess(
    workshopArgsOn(cluster, `btask${Date.now().toString(36)}`, join_, ['--tasks', file]),
  );
  try {
    const session = await createSession(server.url, { joinCode: join_ });
    const term = await TerminalClient.open(server.url, session, { cols: 160 });
    const name = 'bench';
    await term.run(runRestrictedPod(name, [8080]));
    await term.run(`kubectl wait --for=condition=Ready pod/${name} --timeout=60s`);
    const green: number[] = [];
    const checks: number[] = [];
    for (let i = 0; i < WORKSHOP_SAMPLES; i++) {
      // What a reader types last before the task is done; its end mark starts the clock.
      await term.run('kubectl get pods -o name');
      const ended = performance.now();
      await sleep(AUTO_CHECK_DELAY_MS);
      const from = term.messages.length;
      const asked = performance.now();
      term.send({
        type: 'check',
        chapter: 'pods',
        tasks: ['pod-with-port'],
        variables: { task_pod: name },
      });
      await term.waitFor(
        () => term.messages.slice(from).some((m) => m.type === 'task'),
        30_000,
        'the check',
      );
      const answer = term.messages.slice(from).find((m): m is TaskMessage => m.type === 'task');
      if (answer?.state !== 'done') throw new Error(`pod-with-port: ${answer?.message}`);
      const now = performance.now();
      green.push(now - ended);
      checks.push(now - asked);
    }
    const floor: number[] = [];
    for (let i = 0; i < WORKSHOP_SAMPLES; i++) {
      const from = term.messages.length;
      const asked = performance.now();
      term.send({ type: 'check', chapter: 'bench', tasks: ['floor'] });
      await term.waitFor(
        () => term.messages.slice(from).some((m) => m.type === 'task'),
        30_000,
        'the floor check',
      );
      floor.push(performance.now() - asked);
    }
    await term.run(`kubectl delete pod ${name} --wait=false`);
    term.close();
    return {
      floorP50Ms: percentile(floor, 50),
      p50Ms: percentile(green, 50),
      p95Ms: percentile(green, 95),
      checkP50Ms: percentile(checks, 50),
      samples: WORKSHOP_SAMPLES,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    await leaveTestCluster(clusterUse, () => {});
  }
}
