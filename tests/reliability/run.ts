/**
 * `npm run test:reliability`: load, faults, hostile input and escape attempts against the real
 * sandbox server, each scenario bounded in count and time, on loopback only. Prints one table
 * (scenario · what was tried · the figure · result), the reasons of what failed, then
 * `reliability: N passed, N failed`; exits non-zero if anything failed.
 *
 *   KUBENOTES_RELIABILITY=short   the CI size (well under 3 minutes on 2 cores); default: full
 *   KUBENOTES_RELIABILITY_ONLY=load-typing,fuzz-ws   run only these scenarios
 *   KUBENOTES_RELIABILITY_SEED=123   replay the fuzzers with this seed (printed every run)
 *
 * Scenarios that need Kubernetes use the test cluster (tests/cluster): the one named by
 * KUBENOTES_TEST_KUBECONFIG / KUBENOTES_TEST_KUBECTL_DIR, else the running one, else one this
 * run starts (and stops again at the end). See tests/reliability/README.md.
 */
import type { TestCluster } from '../cluster/cluster.ts';
import { leaveTestCluster, useTestCluster } from '../cluster/cluster-users.ts';
import type { ServiceUse } from '../support/shared-service.ts';
import { currentContext } from '../support/workshop-server.ts';
import { type Context, errorText, SIZES, type TestClusterInfo } from './lib/context.ts';
import { Recorder, type Row, renderTable, summary } from './lib/report.ts';
import { allServerLogs } from './lib/server-process.ts';
import { issuedTokens } from './lib/terminal.ts';
import { apiOutage } from './scenarios/api-outage.ts';
import { crashRecovery } from './scenarios/crash.ts';
import { workshopEscape } from './scenarios/escape.ts';
import { freezeClient, killShell, socketDrop } from './scenarios/faults.ts';
import { flood } from './scenarios/flood.ts';
import { fuzzHttp, fuzzWs } from './scenarios/fuzz.ts';
import { loadIdle, loadTyping } from './scenarios/load.ts';
import { relayFlood } from './scenarios/relay-flood.ts';
import {
  originChecks,
  securityHeaders,
  tokenGuessing,
  tokenHygiene,
  traversal,
} from './scenarios/web.ts';

interface Scenario {
  name: string;
  run: (ctx: Context) => Promise<void>;
  /** bound in seconds, short and full */
  bound: [number, number];
  needs?: 'cluster' | 'root';
}

const SCENARIOS: Scenario[] = [
  { name: 'load-typing', run: loadTyping, bound: [90, 420] },
  { name: 'load-idle', run: loadIdle, bound: [90, 420] },
  { name: 'flood', run: flood, bound: [90, 240] },
  { name: 'kill-shell', run: killShell, bound: [40, 60] },
  { name: 'socket-drop', run: socketDrop, bound: [40, 60] },
  { name: 'freeze-client', run: freezeClient, bound: [60, 60] },
  { name: 'api-outage', run: apiOutage, bound: [120, 120], needs: 'cluster' },
  { name: 'server-crash', run: crashRecovery, bound: [120, 120], needs: 'cluster' },
  { name: 'fuzz-ws', run: fuzzWs, bound: [90, 480] },
  { name: 'fuzz-http', run: fuzzHttp, bound: [60, 300] },
  { name: 'origin', run: originChecks, bound: [30, 30] },
  { name: 'token-guessing', run: tokenGuessing, bound: [30, 60] },
  { name: 'token-hygiene', run: tokenHygiene, bound: [30, 30] },
  { name: 'path-traversal', run: traversal, bound: [30, 30] },
  { name: 'security-headers', run: securityHeaders, bound: [30, 30] },
  { name: 'workshop-escape', run: workshopEscape, bound: [180, 180], needs: 'cluster' },
  { name: 'relay-flood', run: relayFlood, bound: [120, 120], needs: 'cluster' },
];

function progress(line: string): void {
  process.stderr.write(`   ${line}\n`);
}

async function findCluster(): Promise<{
  info: TestClusterInfo | { unavailable: string };
  use?: ServiceUse<TestCluster>;
}> {
  const given = process.env.KUBENOTES_TEST_KUBECONFIG;
  const givenBin = process.env.KUBENOTES_TEST_KUBECTL_DIR;
  if (given && givenBin) {
    return { info: { kubeconfig: given, binDir: givenBin, context: currentContext(given) } };
  }
  try {
    // Shared with other runs: stopped at the end only if tests started it and no one else uses it.
    const use = await useTestCluster(progress);
    progress(
      use.startedHere
        ? 'test cluster: started by this run'
        : 'test cluster: reusing the running one',
    );
    return {
      info: {
        kubeconfig: use.value.kubeconfig,
        binDir: use.value.binDir,
        context: currentContext(use.value.kubeconfig),
      },
      use,
    };
  } catch (error) {
    return { info: { unavailable: `no test cluster: ${errorText(error)}` } };
  }
}

async function runScenario(
  scenario: Scenario,
  base: Omit<Context, 'rec' | 'defer'>,
): Promise<Row[]> {
  const rec = new Recorder(scenario.name);
  const cleanups: (() => unknown)[] = [];
  const ctx: Context = { ...base, rec, defer: (fn) => cleanups.push(fn) };
  const bound = scenario.bound[base.sizes.name === 'short' ? 0 : 1] * 1000;
  const started = performance.now();
  process.stderr.write(`━━ ${scenario.name} (bound ${bound / 1000} s)\n`);
  let timer: NodeJS.Timeout | undefined;
  try {
    if ('unavailable' in base.cluster && scenario.needs === 'cluster') {
      rec.add('(needs the test cluster)', '—', 'fail', base.cluster.unavailable);
    } else {
      await Promise.race([
        scenario.run(ctx),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`did not finish within its bound of ${bound / 1000} s`)),
            bound,
          );
        }),
      ]);
    }
  } catch (error) {
    rec.add('(the scenario itself)', 'stopped early', 'fail', errorText(error));
  } finally {
    clearTimeout(timer);
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        progress(`clean-up failed: ${errorText(error)}`);
      }
    }
  }
  progress(
    `${scenario.name}: ${((performance.now() - started) / 1000).toFixed(1)} s, ${rec.rows.map((r) => r.status).join(' ')}`,
  );
  return rec.rows;
}

async function main(): Promise<void> {
  const mode = process.env.KUBENOTES_RELIABILITY === 'short' ? 'short' : 'full';
  const sizes = SIZES[mode];
  const only = process.env.KUBENOTES_RELIABILITY_ONLY?.split(',').map((s) => s.trim());
  const chosen = SCENARIOS.filter((s) => !only || only.includes(s.name));
  const seed = Number(process.env.KUBENOTES_RELIABILITY_SEED ?? Date.now() % 2 ** 31);
  const started = performance.now();
  process.stderr.write(
    `reliability (${mode}): ${chosen.length} scenarios; fuzz seed ${seed} (replay: KUBENOTES_RELIABILITY_SEED=${seed})\n`,
  );

  let cluster: TestClusterInfo | { unavailable: string } = { unavailable: 'not needed' };
  let clusterUse: ServiceUse<TestCluster> | undefined;
  if (chosen.some((s) => s.needs === 'cluster')) {
    const found = await findCluster();
    cluster = found.info;
    clusterUse = found.use;
  }

  const rows: Row[] = [];
  try {
    for (const scenario of chosen) {
      rows.push(...(await runScenario(scenario, { sizes, seed, cluster, log: progress })));
    }
  } finally {
    if (clusterUse) {
      await leaveTestCluster(clusterUse, progress).then(progress, (error: Error) =>
        progress(error.message),
      );
    }
  }

  // Every server of the run, every line it logged: no session token may be in it.
  if (!only || only.includes('token-scan')) {
    const rec = new Recorder('token-scan');
    const logs = allServerLogs.map((read) => read());
    const leaked = [...issuedTokens].filter((token) => logs.some((text) => text.includes(token)));
    rec.check(
      `the logs of all ${logs.length} servers this run started, for all ${issuedTokens.size} session tokens they issued`,
      `${logs.reduce((n, text) => n + text.split('\n').length - 1, 0).toLocaleString('en-US')} lines scanned: ${leaked.length} tokens found`,
      leaked.length ? [`${leaked.length} tokens appear in server logs`] : [],
    );
    rows.push(...rec.rows);
  }

  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  console.log(`\nreliability report (${mode} run, ${minutes} min, fuzz seed ${seed})`);
  console.log(renderTable(rows));
  const failed = rows.filter((r) => r.status === 'fail' || r.status === 'skip');
  if (failed.length > 0) {
    console.log('\nwhy:');
    for (const row of failed) {
      console.log(`  ✗ ${row.scenario} — ${row.tried}\n      ${row.reason ?? ''}`);
    }
  }
  const infos = rows.filter((r) => r.status === 'info' && r.reason);
  if (infos.length > 0) {
    console.log('\nnotes:');
    for (const row of infos) console.log(`  • ${row.scenario} — ${row.reason}`);
  }
  const { passed, failed: failedCount, skipped } = summary(rows);
  console.log(
    `reliability: ${passed} passed, ${failedCount} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
  process.exit(failedCount === 0 ? 0 : 1);
}

void main();
