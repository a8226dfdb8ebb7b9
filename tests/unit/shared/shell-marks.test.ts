import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ShellMark, ShellMarkReader } from '../../../sandbox-server/src/shared/shell-marks.ts';

const A = '\x1b]133;A\x07';
const C = '\x1b]133;C\x07';
const D = (code?: number) => `\x1b]133;D${code === undefined ? '' : `;${code}`}\x07`;

const cases: { name: string; chunks: string[]; marks: ShellMark[] }[] = [
  { name: 'a prompt', chunks: [`${A}$ `], marks: [{ kind: 'prompt' }] },
  {
    name: 'a command with exit code',
    chunks: [`${C}hello\r\n${D(0)}${A}$ `],
    marks: [{ kind: 'command-start' }, { kind: 'command-end', exitCode: 0 }, { kind: 'prompt' }],
  },
  {
    name: 'an end without a code',
    chunks: [D()],
    marks: [{ kind: 'command-end', exitCode: undefined }],
  },
  {
    name: 'ST terminator',
    chunks: ['\x1b]133;D;2\x1b\\'],
    marks: [{ kind: 'command-end', exitCode: 2 }],
  },
  {
    name: 'a mark split across chunks at every point',
    chunks: ['out\x1b', ']13', '3;D', ';1', '27', '\x07more'],
    marks: [{ kind: 'command-end', exitCode: 127 }],
  },
  {
    name: 'ST split between ESC and backslash',
    chunks: ['\x1b]133;A\x1b', '\\'],
    marks: [{ kind: 'prompt' }],
  },
  {
    name: 'other OSC sequences are not marks',
    chunks: ['\x1b]0;title\x07\x1b]8;;http://x\x07'],
    marks: [],
  },
  { name: 'unknown 133 kinds are ignored', chunks: ['\x1b]133;B\x07'], marks: [] },
  {
    name: 'extra parameters after the code',
    chunks: ['\x1b]133;D;1;aid=5\x07'],
    marks: [{ kind: 'command-end', exitCode: 1 }],
  },
];

for (const { name, chunks, marks } of cases) {
  test(`shell marks: ${name}`, () => {
    const reader = new ShellMarkReader();
    assert.deepEqual(
      chunks.flatMap((chunk) => reader.read(chunk)),
      marks,
    );
  });
}

test('shell marks: an unterminated sequence is dropped, not buffered forever', () => {
  const reader = new ShellMarkReader();
  reader.read(`\x1b]133;D;${'9'.repeat(1000)}`);
  assert.deepEqual(reader.read(`${A}`), [{ kind: 'prompt' }]);
});

test('shell marks: the command line after an end mark, unescaped, split across chunks', () => {
  const reader = new ShellMarkReader();
  const line = "kubectl get pods -l 'app=web;x' \\ é";
  const escaped = "kubectl get pods -l 'app=web\\x3bx' \\\\ \\xc3\\xa9";
  const stream = `${D(1)}\x1b]633;E;${escaped}\x07\x1b]0;title\x07${A}`;
  const marks = [stream.slice(0, 20), stream.slice(20, 31), stream.slice(31)].flatMap((c) =>
    reader.read(c),
  );
  assert.deepEqual(marks, [
    { kind: 'command-end', exitCode: 1 },
    { kind: 'command-line', text: line },
    { kind: 'prompt' },
  ]);
});
