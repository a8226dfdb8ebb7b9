/**
 * How many tests a tier ran, read from the closing lines of its output, for `npm test`'s total.
 * Each runner ends with its own summary: node:test's `ℹ pass N` block, Playwright's `N passed`
 * lines, ours `name: N passed, N failed, N skipped`. The output is read from its end and the
 * last summary wins: a tier that runs others (the kind tier runs node:test, Playwright and the
 * doc-tests) prints theirs indented under `│` before its own, which counts them all.
 */

import { plain } from './terminal-client.ts';

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const SUMMARY = /^(?:\w[\w -]*: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/;
const NODE = /^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /;
const PLAYWRIGHT = /^(\d+) (passed|failed|flaky|skipped|did not run|interrupted)\b/;

export function countTests(output: string): Tally | undefined {
  const lines = plain(output)
    .split('\n')
    .map((line) => line.trim());
  // node:test repeats its failures after its summary; what they quote is not a summary
  const failures = lines.lastIndexOf('✖ failing tests:');
  for (let i = (failures >= 0 ? failures : lines.length) - 1; i >= 0; i--) {
    const line = lines[i] ?? '';
    const summary = SUMMARY.exec(line);
    if (summary) {
      return {
        passed: Number(summary[1]),
        failed: Number(summary[2]),
        skipped: Number(summary[3] ?? 0),
      };
    }
    if (NODE.test(line)) return nodeBlock(lines, i);
    if (PLAYWRIGHT.test(line)) return playwrightBlock(lines, i);
  }
  return undefined;
}

/** node:test's closing `ℹ` lines, ending at `last`. A cancelled test did not pass: failed. */
function nodeBlock(lines: string[], last: number): Tally {
  const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
  for (let i = last; i >= 0 && NODE.test(lines[i] ?? ''); i--) {
    const [, name, n] = /^ℹ (\w+) (\d+)/.exec(lines[i] ?? '') ?? [];
    if (name === 'pass') tally.passed += Number(n);
    else if (name === 'fail' || name === 'cancelled') tally.failed += Number(n);
    else if (name === 'skipped' || name === 'todo') tally.skipped += Number(n);
  }
  return tally;
}

/** Playwright's closing count lines, ending at `last`, with the test lists some carry below. */
function playwrightBlock(lines: string[], last: number): Tally {
  const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
  for (let i = last; i >= 0; i--) {
    const line = lines[i] ?? '';
    if (line.startsWith('[')) continue; // a test named under "N failed" or "N flaky"
    const match = PLAYWRIGHT.exec(line);
    if (!match) break;
    const n = Number(match[1]);
    if (match[2] === 'passed' || match[2] === 'flaky') tally.passed += n;
    else if (match[2] === 'skipped') tally.skipped += n;
    else tally.failed += n;
  }
  return tally;
}
