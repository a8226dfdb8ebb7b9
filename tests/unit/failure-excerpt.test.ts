/**
 * `npm test` repeats why a tier failed at its very end (tests/support/failure-excerpt.ts), since
 * a CI log is read from its tail. Fed with what a real `node --test` printed for a suite whose
 * `before` failed and a test whose assertion failed, and with the doc-tests' own marks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureExcerpt } from '../support/failure-excerpt.ts';
import { nodeTestOutput } from '../support/node-test-output.ts';

test('node:test: the failing suites and tests with their errors, without stack frames', () => {
  const run = nodeTestOutput(`import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
describe('the app route', () => {
  before(() => { throw new Error('Cannot create namespace file: File exists'); });
  test('opens the app', () => {});
});
describe('passing', () => { test('fine', () => {}); });
test('counts', () => { assert.equal(1 + 1, 3); });
`);
  assert.equal(run.status, 1, run.stdout);
  const excerpt = failureExcerpt(run.stdout).join('\n');
  assert.match(excerpt, /✖ the app route/);
  assert.match(excerpt, /Error: Cannot create namespace file: File exists/);
  assert.match(excerpt, /✖ counts/);
  assert.match(excerpt, /3 !== 2|2 !== 3/);
  assert.doesNotMatch(excerpt, /✔ fine|passing/);
  assert.doesNotMatch(excerpt, /^\s+at /m);
});

test('other runners: each ✗ line with the lines after it, nested kind-tier output included', () => {
  const output = [
    '■ pods (3 blocks)',
    '  ✓ content/pods.mdx:10 [pods-1]',
    '  ✗ content/pods.mdx:20 [pods-2]: exited 1',
    '      Error from server (NotFound): pods "web" not found',
    '',
    '  ✓ content/pods.mdx:30 [pods-3]',
    '  │   1) [chromium] › tests/e2e/dock.spec.ts:12:3 › the dock opens',
    '  │     Error: expect(locator).toBeVisible() failed',
    '  │       at /repo/tests/e2e/dock.spec.ts:14:5',
    "  │     Locator: getByRole('button', { name: 'Run' })",
    'doc-tests: 2 passed, 1 failed, 0 skipped',
  ].join('\n');
  assert.deepEqual(failureExcerpt(output), [
    '  ✗ content/pods.mdx:20 [pods-2]: exited 1',
    '      Error from server (NotFound): pods "web" not found',
    '  │   1) [chromium] › tests/e2e/dock.spec.ts:12:3 › the dock opens',
    '  │     Error: expect(locator).toBeVisible() failed',
    "  │     Locator: getByRole('button', { name: 'Run' })",
    'doc-tests: 2 passed, 1 failed, 0 skipped',
  ]);
});

test('a long list is cut, and says how much more there is', () => {
  const output = Array.from({ length: 60 }, (_, i) => `  ✗ block ${i}`).join('\n');
  const excerpt = failureExcerpt(output);
  assert.equal(excerpt.length, 41);
  assert.match(excerpt.at(-1) ?? '', /and 20 more lines/);
});
