import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  matches,
  parseSelector,
  selectorText,
} from '../../../sandbox-server/src/shared/label-selector.ts';
import { SELECTOR_CASES, SELECTOR_PODS } from '../../support/selector-table.ts';

/** What the parser selects from the table's Pods, sorted, or `error`. */
export function selects(selector: string): string[] | 'error' {
  const parsed = parseSelector(selector);
  if (!parsed.ok) return 'error';
  return Object.entries(SELECTOR_PODS)
    .filter(([, labels]) => matches(parsed.selector, labels))
    .map(([name]) => name)
    .sort();
}

for (const [selector, expected] of SELECTOR_CASES) {
  test(`-l '${selector.length > 40 ? `${selector.slice(0, 40)}…` : selector}' selects ${expected === 'error' ? 'nothing: an error' : expected.join(' ') || 'no Pod'}`, () => {
    assert.deepEqual(selects(selector), expected);
  });
}

test('an error says what was found and what was expected', () => {
  const parsed = parseSelector('app in web');
  assert.equal(parsed.ok, false);
  assert.match(parsed.ok ? '' : parsed.error, /found 'web'.*expected.*\(/);
  const key = parseSelector('Example.com/team=blue');
  assert.match(key.ok ? '' : key.error, /prefix/);
});

test("a Deployment's matchLabels and matchExpressions become one selector with the same meaning", () => {
  const text = selectorText({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'track', operator: 'NotIn', values: ['canary'] },
      { key: 'tier', operator: 'Exists' },
      { key: 'legacy', operator: 'DoesNotExist' },
    ],
  });
  assert.equal(text, 'app=web,track notin (canary),tier,!legacy');
  const parsed = parseSelector(text ?? '');
  assert.ok(parsed.ok);
  assert.equal(matches(parsed.selector, { app: 'web', tier: 'x' }), true);
  assert.equal(matches(parsed.selector, { app: 'web', tier: 'x', track: 'canary' }), false);
  // A Service's selector is a map; a Service without one selects nothing.
  assert.equal(selectorText({ app: 'web', tier: 'frontend' }), 'app=web,tier=frontend');
  assert.equal(selectorText({}), undefined);
  assert.equal(selectorText(undefined), undefined);
});
