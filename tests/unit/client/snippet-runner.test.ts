/**
 * The Run logic (the browser's and the doc-tests'), driven by a scripted shell: what it types,
 * and what it concludes from the marks that come back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type RunJob, SnippetRunner } from '../../../src/client/snippet-runner.ts';

const A = '\x1b]133;A\x07';
const C = '\x1b]133;C\x07';
const D = (code: number) => `\x1b]133;D;${code}\x07`;

/** A fake shell that answers each typed line with the scripted output. */
function shell(answers: ((line: string) => string | undefined)[]) {
  const typed: string[] = [];
  let runner: SnippetRunner;
  runner = new SnippetRunner((text) => {
    typed.push(text);
    const answer = answers.shift()?.(text);
    if (answer !== undefined) setTimeout(() => runner.feed(answer), 1);
  });
  runner.feed(`${A}$ `);
  return { runner, typed };
}

const cases: {
  name: string;
  job: RunJob;
  answers: ((line: string) => string | undefined)[];
  ok: boolean;
  code?: number;
  typed?: string[];
}[] = [
  {
    name: 'one command that succeeds',
    job: { commands: ['echo hi'], exit: 0 },
    answers: [() => `${C}hi\r\n${D(0)}${A}$ `],
    ok: true,
    code: 0,
    typed: ['echo hi\r'],
  },
  {
    name: 'a failing command reports its code',
    job: { commands: ['false'], exit: 0 },
    answers: [() => `${C}${D(1)}${A}$ `],
    ok: false,
    code: 1,
  },
  {
    name: 'exit=N: the declared failure is a success',
    job: { commands: ['kubectl get pod gone'], exit: 1 },
    answers: [() => `${C}NotFound\r\n${D(1)}${A}$ `],
    ok: true,
    code: 1,
  },
  {
    name: 'exit=N applies to the last command; earlier ones must succeed',
    job: { commands: ['false', 'kubectl get pod gone'], exit: 1 },
    answers: [() => `${C}${D(1)}${A}$ `],
    ok: false,
    code: 1,
    typed: ['false\r'],
  },
  {
    name: 'commands run in order, each after the previous prompt',
    job: { commands: ['one', 'two'], exit: 0 },
    answers: [() => `${C}${D(0)}${A}$ `, () => `${C}${D(0)}${A}$ `],
    ok: true,
    typed: ['one\r', 'two\r'],
  },
  {
    name: 'a multi-line command (heredoc) is typed with carriage returns',
    job: { commands: ['cat > f << EOF\nline\nEOF'], exit: 0 },
    answers: [() => `${C}${D(0)}${A}$ `],
    ok: true,
    typed: ['cat > f << EOF\rline\rEOF\r'],
  },
  {
    name: 'until: the text appears, Ctrl-C is sent, and that counts as success',
    job: { commands: ['kubectl port-forward pod/web 8080:80'], exit: 0, until: 'Forwarding from' },
    answers: [() => `${C}Forwarding from 127.0.0.1:8080 -> 80\r\n`, () => `^C${D(130)}${A}$ `],
    ok: true,
    typed: ['kubectl port-forward pod/web 8080:80\r', '\x03'],
  },
  {
    name: 'until: a command that ends without the text fails',
    job: { commands: ['kubectl port-forward pod/gone 8080:80'], exit: 0, until: 'Forwarding from' },
    answers: [() => `${C}error: pods "gone" not found\r\n${D(1)}${A}$ `],
    ok: false,
    code: 1,
  },
  {
    name: 'timeout: Ctrl-C is sent and the run fails',
    job: { commands: ['sleep 100'], exit: 0, timeoutMs: 50 },
    answers: [() => `${C}`, () => `^C${D(130)}${A}$ `],
    ok: false,
    typed: ['sleep 100\r', '\x03'],
  },
];

for (const { name, job, answers, ok, code, typed } of cases) {
  test(`snippet runner: ${name}`, async () => {
    const { runner, typed: sent } = shell(answers);
    const result = await runner.run(job);
    assert.equal(result.ok, ok, JSON.stringify(result));
    if (code !== undefined) assert.equal(result.code, code);
    if (typed) assert.deepEqual(sent, typed);
    if (!result.ok) assert.ok(result.reason.length > 5);
  });
}

test('snippet runner: Runs clicked together happen one after the other', async () => {
  const { runner, typed } = shell([() => `${C}${D(0)}${A}$ `, () => `${C}${D(0)}${A}$ `]);
  const [a, b] = await Promise.all([
    runner.run({ commands: ['first'], exit: 0 }),
    runner.run({ commands: ['second'], exit: 0 }),
  ]);
  assert.ok(a.ok && b.ok);
  assert.deepEqual(typed, ['first\r', 'second\r']);
});

test('snippet runner: keep leaves the command running, and the next Run stops it first', async () => {
  const { runner, typed } = shell([
    () => `${C}Forwarding from 127.0.0.1:8088 -> 80\r\n`,
    () => `^C${D(130)}${A}$ `,
    () => `${C}${D(0)}${A}$ `,
  ]);
  const forward = await runner.run({
    commands: ['kubectl port-forward pod/web 8088:80'],
    exit: 0,
    until: 'Forwarding from',
    keep: true,
  });
  assert.deepEqual(forward, { ok: true, code: 0 });
  assert.deepEqual(typed, ['kubectl port-forward pod/web 8088:80\r'], 'no Ctrl-C yet');
  const next = await runner.run({ commands: ['kubectl get pods'], exit: 0 });
  assert.ok(next.ok, JSON.stringify(next));
  assert.deepEqual(typed, ['kubectl port-forward pod/web 8088:80\r', '\x03', 'kubectl get pods\r']);
});

test('snippet runner: a kept command the reader stopped is not stopped again', async () => {
  const { runner, typed } = shell([
    () => `${C}Forwarding from 127.0.0.1:8088 -> 80\r\n`,
    () => `${C}${D(0)}${A}$ `,
  ]);
  await runner.run({ commands: ['forward'], exit: 0, until: 'Forwarding', keep: true });
  runner.feed(`^C${D(130)}${A}$ `);
  assert.ok((await runner.run({ commands: ['next'], exit: 0 })).ok);
  assert.deepEqual(typed, ['forward\r', 'next\r']);
});
