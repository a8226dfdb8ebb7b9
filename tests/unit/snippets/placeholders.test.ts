import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fillPlaceholders,
  findPlaceholders,
  undeclaredPlaceholderLike,
} from '../../../src/snippets/placeholders.ts';
import type { VariableSpec } from '../../../src/snippets/variables.ts';

const DECLARED = new Set(['pod_name', 'image', 'port', 'greeting']);

const found: { text: string; names: string[]; undeclared: string[] }[] = [
  { text: 'kubectl get pods', names: [], undeclared: [] },
  {
    text: 'kubectl run <pod_name> --image=<image>',
    names: ['pod_name', 'image'],
    undeclared: [],
  },
  { text: 'echo <image> <pod_name> <image>', names: ['image', 'pod_name'], undeclared: [] },
  { text: 'curl localhost:<port>/', names: ['port'], undeclared: [] },
  { text: 'kubectl get pod <podname>', names: [], undeclared: ['<podname>'] },
  { text: 'kubectl get pod <pod-name>', names: [], undeclared: ['<pod-name>'] },
  { text: 'kubectl get <Kind> <Kind>', names: [], undeclared: ['<Kind>'] },
  // Shell syntax that is not a placeholder.
  { text: 'cat <<EOF > out', names: [], undeclared: [] },
  { text: 'cat <<EOF>out', names: [], undeclared: [] },
  { text: 'cat <<pod_name>x', names: [], undeclared: [] },
  { text: 'sort < file > sorted', names: [], undeclared: [] },
  { text: 'diff <(ls a) <(ls b)', names: [], undeclared: [] },
  { text: 'echo a>b 2>&1 <in', names: [], undeclared: [] },
  { text: 'echo List<String>', names: [], undeclared: [] },
  { text: 'echo <1> <_x>', names: [], undeclared: [] },
];

for (const { text, names, undeclared } of found) {
  test(`placeholders in ${JSON.stringify(text)}`, () => {
    assert.deepEqual(findPlaceholders(text, DECLARED), names);
    assert.deepEqual(undeclaredPlaceholderLike(text, DECLARED), undeclared);
  });
}

const SPECS: Record<string, VariableSpec> = {
  pod_name: { default: 'web', description: '', kind: 'dns-label' },
  image: { default: 'nginx:1.27', description: '', kind: 'image' },
  port: { default: '8080', description: '', kind: 'port' },
  greeting: { default: 'hello', description: '', kind: 'text' },
};

const fills: { command: string; values: Record<string, string>; text: string }[] = [
  {
    command: 'kubectl run <pod_name> --image=<image>',
    values: { pod_name: 'api', image: 'httpd:2' },
    text: 'kubectl run api --image=httpd:2',
  },
  { command: 'kubectl run <pod_name>', values: {}, text: 'kubectl run web' },
  { command: 'echo <greeting>', values: { greeting: 'hi there' }, text: "echo 'hi there'" },
  {
    command: 'echo "<greeting>!"',
    values: { greeting: 'say "$x"' },
    text: 'echo "say \\"\\$x\\"!"',
  },
  { command: "echo '<greeting>'", values: { greeting: "it's" }, text: "echo 'it'\\''s'" },
  {
    command: "cat <<'EOF'\nmsg: <greeting>\nEOF",
    values: { greeting: 'a $b' },
    text: "cat <<'EOF'\nmsg: a $b\nEOF",
  },
  {
    command: 'cat <<EOF\nmsg: <greeting>\nEOF',
    values: { greeting: 'a $b' },
    text: 'cat <<EOF\nmsg: a \\$b\nEOF',
  },
  { command: 'ls # <greeting>', values: { greeting: 'x y' }, text: 'ls # x y' },
  { command: 'echo <undeclared> <pod_name>', values: {}, text: 'echo <undeclared> web' },
];

for (const { command, values, text } of fills) {
  test(`fillPlaceholders ${JSON.stringify(command)}`, () => {
    assert.deepEqual(fillPlaceholders(command, values, SPECS), { ok: true, text });
  });
}

test('fillPlaceholders validates every used value first and reports each once', () => {
  const result = fillPlaceholders(
    'kubectl run <pod_name> --image=<image> && curl :<port> && echo <pod_name>',
    { pod_name: 'Web', image: 'nginx', port: '99999' },
    SPECS,
  );
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.deepEqual(
      result.errors.map((e) => e.name),
      ['pod_name', 'port'],
    );
    assert.match(result.errors[0]!.message, /`pod_name` must be a Kubernetes name/);
  }
});

test('fillPlaceholders ignores values of variables the command does not use', () => {
  assert.deepEqual(fillPlaceholders('ls', { pod_name: 'BAD' }, SPECS), { ok: true, text: 'ls' });
});
