/**
 * `npm run bench`: prints figures against their targets. Never a test: nothing here fails the
 * build on a number. Run on an otherwise idle machine; on 2 cores the benchmark's own client
 * competes with the server and the shell for CPU.
 */
import { cpus } from 'node:os';
import { clusterViewBench } from './cluster-view-bench.ts';
import { measurePage } from './page-bench.ts';
import {
  type Figures,
  floorSubject,
  measureInTurn,
  percentile,
  serverSubject,
} from './server-bench.ts';
import { taskBench, workshopTaskBench } from './task-bench.ts';
import { workshopBench } from './workshop-bench.ts';

/** Rounds of the server comparison, each with fresh processes; the median round is reported. */
const ROUNDS = Number(process.env.KUBENOTES_BENCH_ROUNDS ?? 3);

const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

function pick(server: { promptMs: number; rssPerSessionMiB: number }) {
  return { promptMs: server.promptMs, rssPerSessionMiB: server.rssPerSessionMiB };
}

const ms = (value: number) => `${value.toFixed(2)} ms`;
const times = (value: number) => `${value.toFixed(1)}x`;
const ratio = (f: Figures, base: Figures) => `${(f.mibPerSecond / base.mibPerSecond).toFixed(2)}x`;

/** One round's figures: the floor, and the server with its screen on and off. */
interface Round {
  floor: Figures;
  on: Figures & { inServerMs: number };
  off: Figures & { inServerMs: number };
}

function row(name: string, f: Figures & { echoRatio?: number; bulkRatio?: number }): string {
  const cells = [
    name.padEnd(26),
    f.echoP50.toFixed(2).padStart(8),
    f.echoP99.toFixed(2).padStart(8),
    f.mibPerSecond.toFixed(1).padStart(8),
    `${(f.echoRatio ?? 1).toFixed(1)}x`.padStart(8),
    `${(f.bulkRatio ?? 1).toFixed(2)}x`.padStart(8),
    (f.rssPerSessionMiB === undefined ? '–' : f.rssPerSessionMiB.toFixed(2)).padStart(10),
    (f.promptMs === undefined ? '–' : f.promptMs.toFixed(0)).padStart(8),
  ];
  return cells.join(' ');
}

async function main(): Promise<void> {
  console.log(
    `kubenotes bench — ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`,
  );
  if (want('server')) {
    console.log(
      `\nSandbox server vs node-pty read straight (the floor), loopback, in ${ROUNDS} rounds of fresh processes.`,
    );
    console.log(
      'Each round: 1000 keystrokes each and five runs of 32 MiB of output each (after one warm-up run),',
    );
    console.log(
      'taken in turn so that drift hits all three alike; bulk is the median run. Ratios compare systems',
    );
    console.log(
      'within a round (the floor itself moves 0.07–0.12 ms between rounds); the summary is the median round.',
    );
    console.log(
      'One lean client (count, keep the tail, ack in batches as the browser does) reads all three; it runs',
    );
    console.log(
      'in this process and competes with the server and the shell for the same 2 cores.\n',
    );
    const rounds: Round[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const floorSide = await floorSubject();
      const screenOn = await serverSubject(true);
      const screenOff = await serverSubject(false);
      const subjects = [floorSide, screenOn, screenOff];
      try {
        const [floor, on, off] = (await measureInTurn(subjects)) as [Figures, Figures, Figures];
        rounds.push({
          floor,
          on: { ...on, ...pick(screenOn), inServerMs: await screenOn.echoInServerMs() },
          off: { ...off, ...pick(screenOff), inServerMs: await screenOff.echoInServerMs() },
        });
      } finally {
        for (const subject of subjects) await subject.close();
      }
      const { floor, on, off } = rounds.at(-1)!;
      const runs = (f: Figures) => f.bulkRuns.map((r) => r.toFixed(0)).join(', ');
      console.log(
        `round ${round}: echo p50 floor ${ms(floor.echoP50)}, screen on ${ms(on.echoP50)} (${times(on.echoP50 / floor.echoP50)}; in the server ${ms(on.inServerMs)}), screen off ${ms(off.echoP50)} (${times(off.echoP50 / floor.echoP50)}; in the server ${ms(off.inServerMs)})`,
      );
      console.log(
        `         bulk MiB/s floor [${runs(floor)}], screen on [${runs(on)}] ${ratio(on, floor)}, screen off [${runs(off)}] ${ratio(off, floor)}`,
      );
    }
    const middle = (values: number[]) => percentile(values, 50);
    const summary = (of: (round: Round) => Figures) => ({
      echoP50: middle(rounds.map((r) => of(r).echoP50)),
      echoP99: middle(rounds.map((r) => of(r).echoP99)),
      mibPerSecond: middle(rounds.map((r) => of(r).mibPerSecond)),
      bulkRuns: rounds.flatMap((r) => of(r).bulkRuns),
      rssPerSessionMiB:
        of(rounds[0]!).rssPerSessionMiB && middle(rounds.map((r) => of(r).rssPerSessionMiB!)),
      promptMs: of(rounds[0]!).promptMs && middle(rounds.map((r) => of(r).promptMs!)),
      echoRatio: middle(rounds.map((r) => of(r).echoP50 / r.floor.echoP50)),
      bulkRatio: middle(rounds.map((r) => of(r).mibPerSecond / r.floor.mibPerSecond)),
    });
    const base = summary((r) => r.floor);
    console.log(
      `\n${'median round'.padEnd(26)} ${'echo p50'.padStart(8)} ${'echo p99'.padStart(8)} ${'MiB/s'.padStart(8)} ${'p50 ×'.padStart(8)} ${'tput ×'.padStart(8)} ${'MiB/sess'.padStart(10)} ${'prompt'.padStart(8)}`,
    );
    console.log(row('node-pty (floor)', base));
    console.log(
      row(
        'kubenotes, screen on',
        summary((r) => r.on),
      ),
    );
    console.log(
      row(
        'kubenotes, screen off',
        summary((r) => r.off),
      ),
    );
    console.log(
      `\nof an echo, inside the server (input in → frame out, the shell's own echo included; /metrics, median):`,
    );
    console.log(
      `  screen on ${ms(middle(rounds.map((r) => r.on.inServerMs)))}, screen off ${ms(middle(rounds.map((r) => r.off.inServerMs)))}; the floor's whole echo: ${ms(base.echoP50)} (p50)`,
    );
    console.log(
      '\ntargets: echo p50 ≤ 3x floor, p99 < 2 ms; throughput ≥ 0.6x floor with the screen on (stretch 0.9x);',
    );
    console.log(
      '         ≤ 2 MiB server RSS per idle session; prompt ≤ 150 ms (ms, median of 20, POST → first prompt mark).',
    );
    console.log(
      'reference (same machine class): wetty 3.2.0 echo p50 ≈ 2.8 ms, 42–47 MiB/s ≈ 0.55x the floor.',
    );
  }
  if (want('page')) {
    const page = await measurePage('/pods/');
    console.log(
      '\nThe Pods chapter before the first Run (every script fetched without a click, gzipped):',
    );
    for (const script of page.scripts) {
      console.log(`  ${(script.gzipBytes / 1024).toFixed(1).padStart(6)} KB  ${script.url}`);
    }
    console.log(`  ${(page.inlineGzipBytes / 1024).toFixed(1).padStart(6)} KB  inline scripts`);
    console.log(
      `  ${(page.totalGzipBytes / 1024).toFixed(1).padStart(6)} KB  total (target ≤ 30 KB)`,
    );
    console.log(
      `  ${(page.firstRunGzipBytes / 1024).toFixed(1).padStart(6)} KB  loaded by the first Run (xterm, protocol client, zod)`,
    );
    if (typeof page.lighthouse === 'string') console.log(`Lighthouse: ${page.lighthouse}`);
    else if (page.lighthouse) {
      console.log(
        `Lighthouse: performance ${page.lighthouse.performance.toFixed(2)} (target ≥ 0.95), accessibility ${page.lighthouse.accessibility.toFixed(2)} (target 1.00)`,
      );
    }
  }
  if (want('tasks')) {
    const t = await taskBench();
    console.log('\nTasks, local mode on the test cluster (median of 20; p90 in brackets):');
    console.log(`  a check that runs nothing, message → answer: ${ms(t.floorMs)}`);
    console.log(`  a check of one bare kubectl call: ${ms(t.oneKubectlMs)}`);
    console.log(
      `  the Pods task's check (one kubectl call, then bash): ${ms(t.kubectlMs)} [${ms(t.kubectlP90Ms)}]`,
    );
    console.log(
      `  command's end mark → task green (the page's delay + that check): ${ms(t.endMarkToGreenMs)} (target ≤ 500 ms)`,
    );
    const w = await workshopTaskBench();
    console.log(
      `\nTasks, workshop mode (the check in the participant's bwrap sandbox, kubectl through the relay; ${w.samples} commands typed):`,
    );
    console.log(
      `  command's end mark → task green: p50 ${ms(w.p50Ms)}, p95 ${ms(w.p95Ms)} (the check alone: p50 ${ms(w.checkP50Ms)}; one that runs nothing: p50 ${ms(w.floorP50Ms)}; target ≤ 500 ms)`,
    );
  }
  if (want('cluster-view')) {
    const v = await clusterViewBench();
    console.log(
      `\nCluster view: an API change (a Pod relabelled) to the page's model, over ${v.samples} changes: p50 ${v.p50Ms.toFixed(0)} ms, p90 ${v.p90Ms.toFixed(0)} ms, max ${v.maxMs.toFixed(0)} ms (target p50 < 300 ms)`,
    );
  }
  if (only.includes('workshop-view')) {
    // Not in the default run: two workshops of 300 sessions each, a few minutes.
    const without = await workshopBench({ churn: true });
    const withView = await workshopBench({ churn: true, view: true });
    const cpu = (w: typeof without) => `${w.idleCpuPercent.toFixed(1)} % of one core`;
    const rss = (w: typeof without) => `${w.idleRssMiB.toFixed(0)} MiB`;
    const change = (a: number, b: number) =>
      `${b >= a ? '+' : '−'}${Math.abs((b / a - 1) * 100).toFixed(0)} %`;
    console.log(
      `\nWorkshop, ${without.sessions} sessions, a Pod created every 100 ms for 10 s: without the cluster view ${rss(without)} RSS, ${cpu(without)}; every session subscribed ${rss(withView)} (${change(without.idleRssMiB, withView.idleRssMiB)}), ${cpu(withView)} (target: under 20 % more)`,
    );
  }
  if (want('workshop')) {
    const w = await workshopBench();
    console.log(
      `\nWorkshop mode on the test cluster (namespace, RBAC, quota, token and a bubblewrap sandbox per session):`,
    );
    console.log(
      `  POST /api/sessions → first prompt: ${w.promptMs.toFixed(0)} ms (median of 10; target < 1000 ms)`,
    );
    console.log(`  ${w.sessions} sessions created and attached in ${w.createSeconds.toFixed(1)} s`);
    console.log(
      `  server while ${w.sessions} sit idle: ${w.idleRssMiB.toFixed(0)} MiB RSS (${w.baselineRssMiB.toFixed(0)} MiB before), ${w.idleCpuPercent.toFixed(1)} % of one core`,
    );
    console.log(
      `  all ended in ${w.endSeconds.toFixed(1)} s; left behind: ${w.namespacesLeft} namespaces, ${w.processesLeft} sandbox processes`,
    );
  }
}

await main();
