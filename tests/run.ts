/**
 * `npm test`: every tier, in order, against real things.
 *
 *   1. check        biome (lint + format) and the TypeScript compiler, per folder
 *   2. unit         pure modules (node:test)
 *   3. test cluster a real API server with simulated nodes (tests/cluster), built or reused
 *   4. integration  the real server, real ptys, real sockets, the real API server
 *   5. site         astro build
 *   6. doc-tests    every runnable block of every chapter, through the sandbox, on the cluster
 *   7. end-to-end   Playwright in Chromium against `kubenotes serve`
 *   8. reliability  the short report: load, faults, fuzzing, escape attempts
 *   9. kind tier    only when the offline kind node image is cached
 *
 * The test cluster is shared with other runs on the machine (tests/cluster/cluster-users.ts):
 * it is stopped at the end only if a test run started it and no other run still uses it.
 * Ends with one line: `N passed, N failed`. What each tier needs, starts and leaves:
 * tests/README.md.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestCluster } from './cluster/cluster.ts';
import { leaveTestCluster, useTestCluster } from './cluster/cluster-users.ts';
import { failureExcerpt } from './support/failure-excerpt.ts';
import type { ServiceUse } from './support/shared-service.ts';
import { countTests, type Tally } from './support/tier-count.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'node_modules', '.bin');

const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
const failedSteps: string[] = [];
/** what each failed step said about its failures, repeated at the very end */
const whyFailed: { step: string; lines: string[] }[] = [];
/** a step's output kept for that excerpt (the CI log's tail is what people read first) */
const KEEP_OUTPUT = 4 * 1024 * 1024;

/** Runs a step, streaming its output; counts its tests from the runner's closing lines. */
function step(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<boolean> {
  console.log(`\n━━ ${name}: ${[command, ...args].join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env, PATH: `${BIN}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      chunks.push(chunk);
      kept += chunk.length;
      while (kept - (chunks[0]?.length ?? 0) > KEEP_OUTPUT) kept -= chunks.shift()?.length ?? 0;
    });
    child.on('exit', (code) => {
      const output = Buffer.concat(chunks).toString();
      const counted = countTests(output);
      if (counted) {
        tally.passed += counted.passed;
        tally.failed += counted.failed;
        tally.skipped += counted.skipped;
      } else {
        tally[code === 0 ? 'passed' : 'failed']++;
      }
      if (code !== 0) {
        failedSteps.push(name);
        whyFailed.push({ step: name, lines: failureExcerpt(output) });
        if (counted && counted.failed === 0) tally.failed++;
      }
      resolve(code === 0);
    });
  });
}

async function main(): Promise<void> {
  const only = process.env.KUBENOTES_TEST_ONLY?.split(',');
  const want = (tier: string) => !only || only.includes(tier);
  const started = Date.now();

  if (want('check')) {
    await step('check', 'biome', ['check', '.']);
    // The site's types (astro:content, import.meta.env) are generated; make them first.
    await step('astro sync', process.execPath, [
      join(ROOT, 'node_modules', 'astro', 'bin', 'astro.mjs'),
      'sync',
    ]);
    for (const project of [
      'tsconfig.json',
      'sandbox-server/tsconfig.json',
      'sandbox-server/tsconfig.shared.json',
      'tests/tsconfig.json',
    ]) {
      await step(`typecheck ${project}`, 'tsc', ['-p', project]);
    }
  }
  if (want('unit')) await step('unit', process.execPath, ['--test', 'tests/unit/**/*.test.ts']);

  let clusterUse: ServiceUse<TestCluster> | undefined;
  let cluster: TestCluster | undefined;
  const clusterLog = (line: string) => console.log(`   ${line}`);
  const needsCluster = ['integration', 'doc', 'e2e', 'reliability'].some(want);
  if (needsCluster) {
    console.log('\n━━ test cluster: building or reusing the Kubernetes binaries, then starting it');
    try {
      clusterUse = await useTestCluster(clusterLog);
      cluster = clusterUse.value;
      console.log(
        `   kubeconfig: ${cluster.kubeconfig} (${clusterUse.startedHere ? 'started by this run' : 'it was running; reused'})`,
      );
    } catch (error) {
      console.log(`   test cluster FAILED: ${(error as Error).message}`);
      failedSteps.push('test cluster');
      tally.failed++;
    }
  }
  const clusterEnv: NodeJS.ProcessEnv = cluster
    ? {
        KUBENOTES_TEST_KUBECONFIG: cluster.kubeconfig,
        KUBENOTES_TEST_KUBECTL_DIR: cluster.binDir,
        KUBENOTES_TEST_POD_LOGS: cluster.podLogsFile,
      }
    : {};

  try {
    if (want('integration')) {
      await step(
        'integration',
        process.execPath,
        ['--test', '--test-concurrency=1', 'tests/integration/**/*.test.ts'],
        clusterEnv,
      );
    }
    if (want('doc') || want('e2e')) {
      await step('site', process.execPath, [
        join(ROOT, 'node_modules', 'astro', 'bin', 'astro.mjs'),
        'build',
      ]);
    }
    if (want('doc') && existsSync(join(ROOT, 'tests', 'doc', 'run-doc-tests.ts'))) {
      await step('doc-tests', process.execPath, ['tests/doc/run-doc-tests.ts'], clusterEnv);
    }
    if (want('e2e'))
      await step('end-to-end', process.execPath, [join(BIN, 'playwright'), 'test'], clusterEnv);
    // The short reliability report (load, faults, fuzzing, escapes); `npm run test:reliability`
    // runs the full one.
    if (want('reliability')) {
      await step('reliability (short)', process.execPath, ['tests/reliability/run.ts'], {
        ...clusterEnv,
        KUBENOTES_RELIABILITY: process.env.KUBENOTES_RELIABILITY ?? 'short',
      });
    }
    if (want('kind') && existsSync(join(ROOT, 'tests', 'kind', 'run-kind-tier.ts'))) {
      await step('kind tier', process.execPath, ['tests/kind/run-kind-tier.ts']);
    }
  } finally {
    if (clusterUse) {
      console.log('\n━━ test cluster: leaving it');
      await leaveTestCluster(clusterUse, clusterLog).then(clusterLog, (error: Error) => {
        console.log(`   could not stop the test cluster: ${error.message}`);
      });
    }
  }

  for (const { step, lines } of whyFailed) {
    console.log(`\n━━ why ${step} failed (its output above has the whole story)`);
    for (const line of lines.length ? lines : ['(it printed no failure marks: see its output)']) {
      console.log(`   ${line}`);
    }
  }
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  console.log(
    `\n━━ all tiers done in ${minutes} min${failedSteps.length ? `; failed: ${failedSteps.join(', ')}` : ''}`,
  );
  console.log(`${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`);
  process.exit(failedSteps.length === 0 && tally.failed === 0 ? 0 : 1);
}

void main();
