import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFenceMeta, type SnippetMeta, withoutNorun } from '../../../src/snippets/meta.ts';

const DEFAULTS: SnippetMeta = { norun: false, exit: 0, needs: [], term: 1 };

const valid: { meta: string | null | undefined; expected: Partial<SnippetMeta> }[] = [
  { meta: null, expected: {} },
  { meta: undefined, expected: {} },
  { meta: '', expected: {} },
  { meta: '   ', expected: {} },
  { meta: 'norun', expected: { norun: true } },
  { meta: 'exit=0', expected: { exit: 0 } },
  { meta: 'exit=1', expected: { exit: 1 } },
  { meta: 'exit=255', expected: { exit: 255 } },
  {
    meta: 'needs=docker reason="builds an image"',
    expected: { needs: ['docker'], reason: 'builds an image' },
  },
  { meta: 'needs=docker,kind reason=x', expected: { needs: ['docker', 'kind'], reason: 'x' } },
  { meta: 'needs=kind,kind reason=x', expected: { needs: ['kind'], reason: 'x' } },
  { meta: 'timeout=30s', expected: { timeoutMs: 30_000 } },
  { meta: 'timeout=30', expected: { timeoutMs: 30_000 } },
  { meta: 'timeout=1500ms', expected: { timeoutMs: 1500 } },
  { meta: 'timeout=2m', expected: { timeoutMs: 120_000 } },
  { meta: 'timeout=0.5s', expected: { timeoutMs: 500 } },
  { meta: 'until="Forwarding from"', expected: { until: 'Forwarding from' } },
  { meta: "until='Forwarding from'", expected: { until: 'Forwarding from' } },
  { meta: 'until="say \\"hi\\""', expected: { until: 'say "hi"' } },
  { meta: 'expect="re-tagging"', expected: { expect: 're-tagging' } },
  { meta: 'id=create-pod', expected: { id: 'create-pod' } },
  { meta: 'title="Run a Pod"', expected: { title: 'Run a Pod' } },
  { meta: 'term=1', expected: { term: 1 } },
  { meta: 'term=2', expected: { term: 2 } },
  {
    meta: 'term=2 until="Forwarding from" keep',
    expected: { term: 2, until: 'Forwarding from', keep: true },
  },
  {
    meta: '  exit=2   timeout=5s title="a = b"  id=x1 ',
    expected: { exit: 2, timeoutMs: 5000, title: 'a = b', id: 'x1' },
  },
];

for (const { meta, expected } of valid) {
  test(`parseFenceMeta accepts ${JSON.stringify(meta)}`, () => {
    assert.deepEqual(parseFenceMeta(meta), { ok: true, meta: { ...DEFAULTS, ...expected } });
  });
}

const invalid: { meta: string; error: RegExp }[] = [
  { meta: 'exitcode=1', error: /^unknown fence option "exitcode" — did you mean "exit=N"\?$/ },
  { meta: 'timout=3s', error: /did you mean "timeout=30s"/ },
  { meta: 'nrun', error: /did you mean "norun"/ },
  { meta: 'colour=red', error: /unknown fence option "colour" — known options: norun exit=N/ },
  { meta: 'frame="terminal"', error: /belongs to Expressive Code .* add norun/ },
  { meta: '{1,3}', error: /belongs to Expressive Code/ },
  { meta: 'exit', error: /^exit needs a value, as in exit=N$/ },
  {
    meta: 'term=3',
    error: /^term=3 names no terminal: the dock has 2, so use term=1 \(the default\) or term=2$/,
  },
  { meta: 'term=0', error: /^term=0 names no terminal/ },
  { meta: 'term=two', error: /^term=two names no terminal/ },
  { meta: 'term', error: /^term needs a value, as in term=2$/ },
  { meta: 'keep', error: /^keep leaves a command running .* add until="…", or remove keep$/ },
  { meta: 'keep=yes until=x', error: /^keep takes no value: write just keep$/ },
  { meta: 'exit=abc', error: /exit=abc is not an exit code: use a whole number from 0 to 255/ },
  { meta: 'exit=256', error: /exit=256 is not an exit code/ },
  { meta: 'exit=-1', error: /exit=-1 is not an exit code/ },
  { meta: 'exit=1.5', error: /exit=1.5 is not an exit code/ },
  { meta: 'exit=1 exit=2', error: /^exit is given twice: keep one$/ },
  { meta: 'needs=docker', error: /^needs=docker needs a reason="…" saying why$/ },
  { meta: 'needs=docker,kind', error: /^needs=docker,kind needs a reason="…" saying why$/ },
  {
    meta: 'needs=podman reason=x',
    error: /"podman" is not something a sandbox provides; use docker or kind/,
  },
  { meta: 'needs= reason=x', error: /"" is not something a sandbox provides/ },
  { meta: 'reason="why"', error: /reason="…" explains a needs=…/ },
  { meta: 'timeout=soon', error: /timeout=soon is not a duration: write a number with ms, s or m/ },
  { meta: 'timeout=0s', error: /timeout=0s is not a duration/ },
  { meta: 'timeout=3h', error: /timeout=3h is not a duration/ },
  { meta: 'id="Create Pod"', error: /id=Create Pod is not a usable id: .* as in id=create-pod/ },
  { meta: 'id=-x', error: /id=-x is not a usable id/ },
  { meta: 'until=""', error: /until="" is empty/ },
  { meta: 'title="unclosed', error: /the value of title= opens a " quote that is never closed/ },
  { meta: 'norun=yes', error: /norun takes no value/ },
  { meta: '=x', error: /"=x" has no option name/ },
];

for (const { meta, error } of invalid) {
  test(`parseFenceMeta rejects ${JSON.stringify(meta)}`, () => {
    const result = parseFenceMeta(meta);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.error, error);
  });
}

const stripped: { meta: string | null; norun: boolean; rest: string | null }[] = [
  { meta: null, norun: false, rest: null },
  { meta: 'exit=1', norun: false, rest: 'exit=1' },
  { meta: 'norun', norun: true, rest: null },
  { meta: 'norun title="A  B"', norun: true, rest: 'title="A  B"' },
  { meta: 'frame="none"   norun   title="x"', norun: true, rest: 'frame="none" title="x"' },
  // `norun` inside a quoted value is text, not the option.
  { meta: 'title="norun"', norun: false, rest: 'title="norun"' },
];

for (const { meta, norun, rest } of stripped) {
  test(`withoutNorun(${JSON.stringify(meta)})`, () => {
    assert.deepEqual(withoutNorun(meta), { norun, rest });
  });
}

test('open= names a Service or Pod and a port, placeholders allowed; anything else says what to write', () => {
  for (const value of [
    'svc/web:80',
    'pod/<pod_name>:80',
    'svc/<deployment>:<port>',
    'svc/web:http',
  ]) {
    const result = parseFenceMeta(`open="${value}"`);
    assert.ok(result.ok, value);
    assert.equal(result.meta.open, value);
  }
  for (const value of [
    'deployment/web:80',
    'svc/web',
    'pod/<pod_name>:http',
    'svc/Web:80',
    'svc/<x:80',
  ]) {
    const result = parseFenceMeta(`open="${value}"`);
    assert.ok(!result.ok, value);
    assert.match(result.error, /^open=.*(svc\/NAME:PORT|name|port)/, value);
  }
});
