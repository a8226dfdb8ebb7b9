/**
 * What a real `node --test` prints for a test file made of `source`, for the tests of
 * `npm test`'s reading of runner output (failure-excerpt.ts, tier-count.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function nodeTestOutput(source: string): { status: number | null; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-node-test-'));
  try {
    const file = join(dir, 'fixture.test.ts');
    writeFileSync(file, source);
    // NODE_TEST_CONTEXT would make the child report to the runner running us instead of printing.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = spawnSync(process.execPath, ['--test', file], { encoding: 'utf8', env });
    return { status: run.status, stdout: run.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
