import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadConfig } from '../../../sandbox-server/src/config/config.ts';
import { settingsList } from '../../../sandbox-server/src/config/settings.ts';
import { helpText, settingsTable } from '../../../sandbox-server/src/config/settings-doc.ts';

const DOC = new URL('../../../docs/configuration.md', import.meta.url);
const START = '<!-- settings:start -->\n';
const END = '\n<!-- settings:end -->';

test('docs/configuration.md shows the settings table as settings.ts defines it', () => {
  const doc = readFileSync(DOC, 'utf8');
  const from = doc.indexOf(START) + START.length;
  const to = doc.indexOf(END);
  assert.ok(from >= START.length && to > from, 'the settings markers are in the document');
  if (process.env.UPDATE_DOCS === '1') {
    writeFileSync(DOC, doc.slice(0, from) + settingsTable() + doc.slice(to));
    return;
  }
  assert.equal(
    doc.slice(from, to),
    settingsTable(),
    'docs/configuration.md is out of date: rerun this test with UPDATE_DOCS=1',
  );
});

test('every setting has a flag of its own, a variable, and a line in --help', () => {
  const help = helpText();
  const flags = new Set<string>();
  for (const [path, { about }] of settingsList()) {
    assert.ok(!flags.has(about.flag), `${about.flag} is used once (${path})`);
    flags.add(about.flag);
    assert.ok(about.env.length > 0, `${path} has an environment variable`);
    assert.ok(help.includes(`${about.flag} `), `--help lists ${about.flag}`);
  }
});

test('how long a terminal may stay above the high-water mark is a setting like any other', () => {
  assert.equal(loadConfig().flow.tooSlow, 5000);
  assert.equal(loadConfig({ argv: ['--too-slow', '9s'] }).flow.tooSlow, 9000);
  assert.equal(loadConfig({ env: { KUBENOTES_TOO_SLOW: '2s' } }).flow.tooSlow, 2000);
  assert.throws(() => loadConfig({ argv: ['--too-slow', 'soon'] }), /flow\.tooSlow/);
});
