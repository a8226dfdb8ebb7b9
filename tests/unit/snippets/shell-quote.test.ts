import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { quoteFor, shellQuote } from '../../../src/snippets/shell-quote.ts';
import type { QuoteContext } from '../../../src/snippets/shell-syntax.ts';

const cases: { value: string; quoted: string }[] = [
  { value: 'web-1', quoted: 'web-1' },
  { value: 'nginx:1.27', quoted: 'nginx:1.27' },
  {
    value: 'registry.example.com/team/app@sha256:abc',
    quoted: 'registry.example.com/team/app@sha256:abc',
  },
  { value: 'a=b,c+d%e_f', quoted: 'a=b,c+d%e_f' },
  { value: '', quoted: "''" },
  { value: 'hello world', quoted: "'hello world'" },
  { value: "it's", quoted: "'it'\\''s'" },
  { value: '$HOME', quoted: "'$HOME'" },
  { value: 'a;rm -rf /', quoted: "'a;rm -rf /'" },
  { value: '`id`', quoted: "'`id`'" },
  { value: 'x*', quoted: "'x*'" },
  { value: '~', quoted: "'~'" },
  { value: 'wow!', quoted: "'wow!'" },
  { value: "''", quoted: "''\\'''\\'''" },
];

for (const { value, quoted } of cases) {
  test(`shellQuote(${JSON.stringify(value)})`, () => {
    assert.equal(shellQuote(value), quoted);
  });
}

// Each value placed in each quoting context must read back as itself in a real bash.
const tricky = ['plain', 'two words', "it's", 'say "hi"', '$HOME `id` \\n', 'wow!x', '!!', ''];
const templates: { context: QuoteContext; before: string; after: string }[] = [
  { context: 'unquoted', before: "printf '%s' ", after: '' },
  { context: 'single', before: "printf '%s' '", after: "'" },
  { context: 'double', before: "printf '%s' \"", after: '"' },
  { context: 'ansi', before: "printf '%s' $'", after: "'" },
  { context: 'heredoc', before: 'cat <<EOF\n', after: '\nEOF' },
  { context: 'heredoc-literal', before: "cat <<'EOF'\n", after: '\nEOF' },
];

for (const { context, before, after } of templates) {
  test(`quoteFor(${context}) reads back every value in bash`, () => {
    for (const value of tricky) {
      // Typed into an interactive shell, like the reader's terminal: there `!` in double
      // quotes is history expansion (`bash -c` would not do it).
      const script = before + quoteFor(context, value) + after;
      const out = execFileSync('bash', ['--norc', '--noprofile', '-i'], {
        input: `${script}\n`,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      const expected = context.startsWith('heredoc') ? `${value}\n` : value;
      assert.equal(out, expected, `${context}: ${script}`);
    }
  });
}
