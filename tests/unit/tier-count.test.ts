/**
 * `npm test`'s total adds up what each tier's runner says at its end (tests/support/tier-count.ts).
 * It used to take the first node:test block anywhere in a tier's tail: the kind tier, whose
 * nested runs print theirs before its own line, counted 1 test instead of 158, and a tier whose
 * failures filled the tail counted 0 passed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeTestOutput } from '../support/node-test-output.ts';
import { countTests } from '../support/tier-count.ts';

test('node:test: passed, failed, skipped; a test cancelled by its failing before counts as failed', () => {
  const run = nodeTestOutput(`import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
describe('needs a Pod', () => {
  before(() => { throw new Error('serviceaccount "default" not found'); });
  test('one', () => {});
  test('two', () => {});
});
test('passes', () => {});
test('also passes', () => {});
test('skipped', { skip: 'no engine' }, () => {});
test('quotes a summary', () => { assert.equal('doc-tests: 9 passed, 0 failed', ''); });
`);
  assert.deepEqual(countTests(run.stdout), { passed: 2, failed: 3, skipped: 1 });
});

test('a tier that runs others: its own last line counts, not a nested summary', () => {
  const output = [
    '  │ ℹ tests 1',
    '  │ ℹ pass 1',
    '  │ ℹ fail 0',
    '  │ doc-tests: 154 passed, 0 failed, 0 skipped',
    '  │   2 passed (34.1s)',
    '[kind tier 289s] done in 289s',
    'kind tier: 158 passed, 0 failed, 0 skipped',
  ].join('\n');
  assert.deepEqual(countTests(output), { passed: 158, failed: 0, skipped: 0 });
});

test('Playwright: its closing lines, with the tests listed under "failed" and "flaky"', () => {
  const output = [
    '  1) [chromium] › tests/e2e/dock.spec.ts:12:3 › the dock opens',
    '    Error: expect(locator).toBeVisible() failed',
    '',
    '  1 failed',
    '    [chromium] › tests/e2e/dock.spec.ts:12:3 › the dock opens',
    '  1 flaky',
    '    [chromium] › tests/e2e/tasks.spec.ts:40:3 › a task is checked',
    '  2 skipped',
    '  67 passed (6.2m)',
  ].join('\n');
  assert.deepEqual(countTests(output), { passed: 68, failed: 1, skipped: 2 });
});

test('no summary at all: undefined, and the step counts as one', () => {
  assert.equal(countTests('Checked 296 files in 607ms. No fixes applied.\n'), undefined);
});
