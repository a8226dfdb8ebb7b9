/**
 * What every chapter of the guide owes its reader, checked on the chapters themselves: mistakes
 * a careful reader found once (issue 20) and that the doc-tests, which only run the blocks,
 * cannot see.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collectSnippets } from '../../../src/snippets/extract.ts';

const CONTENT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'content');

const chapters = readdirSync(CONTENT)
  .filter((file) => /\.mdx?$/.test(file) && !file.startsWith('_'))
  .map((file) => {
    const text = readFileSync(join(CONTENT, file), 'utf8');
    const collected = collectSnippets(text, file.replace(/\.mdx?$/, ''), {
      file: `content/${file}`,
    });
    return { file, text, collected, runnable: collected.snippets.filter((s) => !s.meta.norun) };
  });
/** The chapters a reader works through at the terminal (not the home page, not the instructors'). */
const handsOn = chapters.filter((c) => c.runnable.length > 0);

test('there are hands-on chapters to check', () => {
  assert.ok(handsOn.length >= 8, handsOn.map((c) => c.file).join(', '));
});

for (const chapter of handsOn) {
  test(`${chapter.file}: starts clean, so it can be read first or run again`, () => {
    const first = chapter.runnable[0]!;
    assert.ok(
      first.commands.length > 0 &&
        first.commands.every((command) => /^kubectl delete .*--ignore-not-found/.test(command)),
      `the first runnable block (line ${first.line}) should only delete what an earlier run left, with --ignore-not-found: ${first.commands.join(' ; ')}`,
    );
  });

  test(`${chapter.file}: opens with what it teaches, how long it takes and what it assumes`, () => {
    const opening = chapter.text.slice(0, chapter.text.indexOf('\n## '));
    for (const part of ["**You'll learn**", '**Takes**', '**Assumes**']) {
      assert.ok(opening.includes(part), `no ${part} before the first section`);
    }
  });

  test(`${chapter.file}: has a troubleshooting section`, () => {
    assert.match(chapter.text, /^## Troubleshooting$/m);
  });
}

for (const chapter of chapters) {
  test(`${chapter.file}: heredocs show bash's "> " and keep their bodies as written`, () => {
    assert.doesNotMatch(
      chapter.text,
      /^(?:heredoc|quote|dquote)> /m,
      "zsh's continuation prompts: the guide's terminal is bash, which shows '> '",
    );
    for (const snippet of chapter.collected.snippets) {
      for (const command of snippet.commands) {
        const unquoted = /<<-?[ \t]*([A-Za-z_]\w*)/.exec(command);
        assert.equal(
          unquoted,
          null,
          `line ${snippet.line}: << ${unquoted?.[1]} expands $… in the body; write << '${unquoted?.[1]}'`,
        );
      }
    }
  });

  test(`${chapter.file}: never waits on Pods by label for them to be Ready`, () => {
    for (const snippet of chapter.runnable) {
      for (const command of snippet.commands) {
        assert.doesNotMatch(
          command,
          /kubectl wait\b(?=.*--for=condition=Ready)(?=.*(?:\s-l\s|--selector))/,
          `line ${snippet.line}: kubectl wait -l lists the Pods once, as it starts, and misses a replacement made later; wait on the Deployment (rollout status)`,
        );
      }
    }
  });
}
