import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type QuoteContext,
  scanShell,
  type Unfinished,
} from '../../../src/snippets/shell-syntax.ts';

const unfinished: { text: string; expected: Unfinished | null }[] = [
  { text: 'ls -l', expected: null },
  { text: 'echo a \\', expected: { kind: 'backslash' } },
  { text: 'echo a \\\\', expected: null },
  { text: "echo 'a", expected: { kind: 'quote', quote: "'" } },
  { text: 'echo "a', expected: { kind: 'quote', quote: '"' } },
  { text: "echo $'a\\'", expected: { kind: 'quote', quote: "$'" } },
  { text: 'echo "$(date', expected: { kind: 'quote', quote: '$(' } },
  { text: 'echo `date', expected: { kind: 'quote', quote: '`' } },
  { text: 'echo $((1 + (2)))', expected: null },
  { text: 'echo "it\'s"', expected: null },
  { text: "echo x # it's a comment \\", expected: null },
  { text: 'cat <<EOF', expected: { kind: 'heredoc', word: 'EOF' } },
  { text: 'cat <<EOF\nbody', expected: { kind: 'heredoc', word: 'EOF' } },
  { text: 'cat <<EOF\nbody\nEOF', expected: null },
  { text: 'cat <<EOF\n  EOF', expected: { kind: 'heredoc', word: 'EOF' } },
  { text: 'cat <<-EOF\n\tEOF', expected: null },
  { text: 'cat <<A <<B\na\nA\nb', expected: { kind: 'heredoc', word: 'B' } },
  { text: 'cat <<A <<B\na\nA\nb\nB', expected: null },
  { text: 'cat <<"END"\n"\nEND', expected: null },
  { text: "cat <<'x y'\nx y", expected: null },
  { text: 'grep a <<< "b"', expected: null },
  { text: 'echo "<<EOF"', expected: null },
  { text: "echo '\n'", expected: null },
];

for (const { text, expected } of unfinished) {
  test(`scanShell unfinished: ${JSON.stringify(text)}`, () => {
    assert.deepEqual(scanShell(text).unfinished, expected);
  });
}

/** The context at the first character of `marker` in `text`. */
const contexts: { text: string; marker: string; context: QuoteContext }[] = [
  { text: 'echo X', marker: 'X', context: 'unquoted' },
  { text: "echo 'a X'", marker: 'X', context: 'single' },
  { text: 'echo "a X"', marker: 'X', context: 'double' },
  { text: "echo $'a X'", marker: 'X', context: 'ansi' },
  { text: 'echo "$(echo X)"', marker: 'X', context: 'unquoted' },
  { text: 'echo "$(echo "X")"', marker: 'X', context: 'double' },
  { text: 'echo `echo X`', marker: 'X', context: 'unquoted' },
  { text: 'echo \\"X', marker: 'X', context: 'unquoted' },
  { text: 'echo "\\"X"', marker: 'X', context: 'double' },
  { text: 'ls # X', marker: 'X', context: 'comment' },
  { text: 'cat <<EOF\nX\nEOF', marker: 'X', context: 'heredoc' },
  { text: "cat <<'EOF'\nX\nEOF", marker: 'X', context: 'heredoc-literal' },
  { text: 'cat <<\\EOF\nX\nEOF', marker: 'X', context: 'heredoc-literal' },
  { text: 'cat <<EOF\nEOF\necho X', marker: 'X', context: 'unquoted' },
];

for (const { text, marker, context } of contexts) {
  test(`scanShell context: ${JSON.stringify(text)}`, () => {
    assert.equal(scanShell(text).contexts[text.indexOf(marker)], context);
  });
}
