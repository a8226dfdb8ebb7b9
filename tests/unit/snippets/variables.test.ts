import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type VariableSpec, validateVariable } from '../../../src/snippets/validate-variable.ts';
import { readChapterVariables } from '../../../src/snippets/variables.ts';

const spec = (kind: VariableSpec['kind'], value = ''): VariableSpec => ({
  kind,
  default: value,
  description: 'd',
});

/** null: valid; a RegExp: the message must match it. */
const cases: { kind: VariableSpec['kind']; value: string; problem: RegExp | null }[] = [
  // dns-label (RFC 1123)
  { kind: 'dns-label', value: 'web-1', problem: null },
  { kind: 'dns-label', value: 'a', problem: null },
  { kind: 'dns-label', value: '0abc', problem: null },
  { kind: 'dns-label', value: 'a'.repeat(63), problem: null },
  {
    kind: 'dns-label',
    value: 'a'.repeat(64),
    problem: /is 64 characters long: Kubernetes names are at most 63/,
  },
  {
    kind: 'dns-label',
    value: 'Web',
    problem: /must be a Kubernetes name: lowercase .*, such as `web`/,
  },
  { kind: 'dns-label', value: 'my_pod', problem: /such as `my-pod`/ },
  {
    kind: 'dns-label',
    value: '-web',
    problem: /starting and ending with a letter or digit, such as `web`/,
  },
  { kind: 'dns-label', value: 'web-', problem: /must be a Kubernetes name/ },
  { kind: 'dns-label', value: 'web.1', problem: /must be a Kubernetes name/ },
  { kind: 'dns-label', value: 'web 1', problem: /must be a Kubernetes name/ },
  // image
  { kind: 'image', value: 'nginx', problem: null },
  { kind: 'image', value: 'nginx:1.29-alpine', problem: null },
  { kind: 'image', value: 'library/nginx:latest', problem: null },
  { kind: 'image', value: 'registry.example.com:5000/team/app:v2', problem: null },
  { kind: 'image', value: 'localhost/app:dev', problem: null },
  { kind: 'image', value: 'Registry.Example.com/app', problem: null },
  { kind: 'image', value: `nginx@sha256:${'a'.repeat(64)}`, problem: null },
  { kind: 'image', value: `nginx:1.27@sha256:${'0'.repeat(64)}`, problem: null },
  { kind: 'image', value: 'getting-started:1.0.0', problem: null },
  { kind: 'image', value: 'my__app', problem: null },
  { kind: 'image', value: 'nginx latest', problem: /without spaces/ },
  { kind: 'image', value: 'Nginx:1.27', problem: /lowercase repository name/ },
  { kind: 'image', value: 'team/App', problem: /lowercase repository name/ },
  { kind: 'image', value: 'nginx:', problem: /bad tag ``/ },
  { kind: 'image', value: 'nginx:-x', problem: /bad tag `-x`/ },
  { kind: 'image', value: `nginx:${'a'.repeat(129)}`, problem: /bad tag/ },
  { kind: 'image', value: 'nginx@sha256:xyz', problem: /bad digest/ },
  { kind: 'image', value: 'bad..name', problem: /must be an image reference such as/ },
  { kind: 'image', value: '/nginx', problem: /must be an image reference/ },
  // port
  { kind: 'port', value: '1', problem: null },
  { kind: 'port', value: '8080', problem: null },
  { kind: 'port', value: '65535', problem: null },
  { kind: 'port', value: '0', problem: /must be a port number from 1 to 65535/ },
  { kind: 'port', value: '65536', problem: /must be a port number/ },
  { kind: 'port', value: '080', problem: /must be a port number/ },
  { kind: 'port', value: '80.5', problem: /must be a port number/ },
  { kind: 'port', value: 'http', problem: /must be a port number/ },
  // text
  { kind: 'text', value: 'Hello, world! $x "q"', problem: null },
  { kind: 'text', value: 'x'.repeat(256), problem: null },
  { kind: 'text', value: 'x'.repeat(257), problem: /257 characters long: keep it to 256/ },
  { kind: 'text', value: 'two\nlines', problem: /must fit on one line/ },
  { kind: 'text', value: 'tab\there', problem: /control character/ },
  { kind: 'text', value: 'bell\u0007', problem: /control character/ },
];

for (const { kind, value, problem } of cases) {
  test(`validateVariable ${kind} ${JSON.stringify(value.length > 40 ? `${value.slice(0, 20)}…` : value)}`, () => {
    const result = validateVariable('v', value, spec(kind));
    if (problem === null) assert.equal(result, null);
    else assert.match(result ?? '(valid)', problem);
  });
}

const empty: { kind: VariableSpec['kind']; fallback: string; message: string }[] = [
  {
    kind: 'dns-label',
    fallback: 'web-1',
    message: '`pod_name` is empty: enter a name such as `web-1`',
  },
  {
    kind: 'image',
    fallback: 'nginx:1.27',
    message: '`pod_name` is empty: enter an image such as `nginx:1.27`',
  },
  { kind: 'port', fallback: '8080', message: '`pod_name` is empty: enter a port such as `8080`' },
  { kind: 'text', fallback: '', message: '`pod_name` is empty: enter a value' },
];

for (const { kind, fallback, message } of empty) {
  test(`validateVariable: an empty ${kind} names the variable and the default`, () => {
    assert.equal(validateVariable('pod_name', '', spec(kind, fallback)), message);
    assert.equal(validateVariable('pod_name', '  ', spec(kind, fallback)), message);
  });
}

test('readChapterVariables: fills kind, keeps order', () => {
  const result = readChapterVariables({
    title: 'x',
    variables: {
      b: { default: 'x', description: 'B' },
      a: { default: 'web', description: 'A', kind: 'dns-label' },
    },
  });
  assert.deepEqual(result, {
    ok: true,
    variables: {
      b: { default: 'x', description: 'B', kind: 'text' },
      a: { default: 'web', description: 'A', kind: 'dns-label' },
    },
  });
});

test('readChapterVariables: no frontmatter or no variables is no variables', () => {
  assert.deepEqual(readChapterVariables(undefined), { ok: true, variables: {} });
  assert.deepEqual(readChapterVariables({ title: 'x' }), { ok: true, variables: {} });
});

const badFrontmatter: { name: string; variables: unknown; error: RegExp }[] = [
  {
    name: 'a number default (unquoted YAML)',
    variables: { port: { default: 8080, description: 'p' } },
    error: /variables\.port\.default/,
  },
  {
    name: 'a missing description',
    variables: { x: { default: 'a' } },
    error: /variables\.x\.description/,
  },
  {
    name: 'a bad kind',
    variables: { x: { default: 'a', description: 'd', kind: 'name' } },
    error: /variables\.x\.kind/,
  },
  {
    name: 'a bad name',
    variables: { 'pod-name': { default: 'a', description: 'd' } },
    error: /variables/,
  },
  {
    name: 'a default its kind rejects',
    variables: { p: { default: 'Web', description: 'd', kind: 'dns-label' } },
    error: /variables\.p\.default: `p` must be a Kubernetes name/,
  },
];

for (const { name, variables, error } of badFrontmatter) {
  test(`readChapterVariables rejects ${name}`, () => {
    const result = readChapterVariables({ variables });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.errors.join('\n'), error);
  });
}
