import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdownToHtml } from 'satteri';
import { SnippetError } from '../../../src/snippets/chapter.ts';
import { collectSnippets } from '../../../src/snippets/extract.ts';
import { satteriSnippets } from '../../../src/snippets/satteri-snippets.ts';

const CHAPTER = `---
title: Pods
order: 2
variables:
  pod_name:
    default: web
    description: Name of the Pod.
    kind: dns-label
  local_port:
    default: "8080"
    description: Local port.
    kind: port
---

import { Aside } from '@astrojs/starlight/components';

# Pods

\`\`\`console
$ kubectl run <pod_name> --image=nginx
pod/web created
\`\`\`

<Aside>

\`\`\`sh timeout=2m
kubectl wait --for=condition=Ready pod <pod_name>
\`\`\`

</Aside>

:::note
\`\`\`bash until="Forwarding from" id=forward
kubectl port-forward pod/<pod_name> <local_port>:80
\`\`\`
:::

\`\`\`sh norun
kubectl delete pod <pod_name>
\`\`\`

\`\`\`yaml
kind: Pod
\`\`\`

\`\`\`console exit=1 needs=kind reason="reads the node"
$ kubectl get pod gone
Error from server (NotFound): pods "gone" not found
\`\`\`
`;

test('collectSnippets: runnable blocks in order, with ids, lines, commands and meta', () => {
  const chapter = collectSnippets(CHAPTER, 'pods', { file: 'content/pods.mdx' });
  assert.equal(chapter.frontmatter.order, 2);
  assert.deepEqual(Object.keys(chapter.variables), ['pod_name', 'local_port']);
  assert.deepEqual(chapter.snippets, [
    {
      id: 'pods-1',
      commands: ['kubectl run <pod_name> --image=nginx'],
      meta: { norun: false, exit: 0, needs: [], term: 1 },
      line: 19,
      variables: ['pod_name'],
    },
    {
      id: 'pods-2',
      commands: ['kubectl wait --for=condition=Ready pod <pod_name>'],
      meta: { norun: false, exit: 0, needs: [], term: 1, timeoutMs: 120_000 },
      line: 26,
      variables: ['pod_name'],
    },
    {
      id: 'forward',
      commands: ['kubectl port-forward pod/<pod_name> <local_port>:80'],
      meta: { norun: false, exit: 0, needs: [], term: 1, until: 'Forwarding from', id: 'forward' },
      line: 33,
      variables: ['pod_name', 'local_port'],
    },
    {
      id: 'pods-4',
      commands: ['kubectl get pod gone'],
      meta: { norun: false, exit: 1, needs: ['kind'], term: 1, reason: 'reads the node' },
      line: 46,
      variables: [],
    },
  ]);
});

test('collectSnippets agrees with the site on ids and commands', () => {
  const chapter = collectSnippets(CHAPTER, 'pods');
  // The site's pipeline: frontmatter handed over by Astro, blanked out of the body.
  const body = CHAPTER.replace(/^---\n[\s\S]*?\n---\n/, (fm) => fm.replace(/[^\n]/g, ' '))
    .replace(/^import .*$/m, '')
    .replace(/^<\/?Aside>$/gm, '')
    // Starlight turns `:::note` into an aside; without it the container would be dropped.
    .replace(/^:::.*$/gm, '');
  const html = markdownToHtml(body, {
    mdastPlugins: [satteriSnippets()],
    fileURL: new URL('file:///site/content/pods.mdx'),
    data: { astro: { frontmatter: chapter.frontmatter } },
    features: { directive: true },
  }).html;
  const ids = [...html.matchAll(/data-snippet-id="([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(
    ids,
    chapter.snippets.map((s) => s.id),
  );
});

test('collectSnippets: .md chapters are Markdown (indented code never runs)', () => {
  const chapter = collectSnippets('Intro.\n\n    rm -rf /\n\n```sh\nls\n```\n', 'notes', {
    file: 'content/notes.md',
  });
  assert.deepEqual(
    chapter.snippets.map((s) => [s.id, s.commands]),
    [['notes-1', ['ls']]],
  );
});

test('collectSnippets: no frontmatter, no variables', () => {
  const chapter = collectSnippets('```sh\nls\n```', 'x');
  assert.deepEqual(chapter.frontmatter, {});
  assert.deepEqual(chapter.variables, {});
});

const failures: { name: string; source: string; message: RegExp; line: number }[] = [
  {
    name: 'invalid YAML frontmatter',
    source: '---\ntitle: x\nvariables: [a\n---\n\n```sh\nls\n```',
    message: /^content\/x\.mdx:3: frontmatter is not valid YAML: Flow sequence .* end with a \]$/,
    line: 3,
  },
  {
    name: 'an undeclared placeholder',
    source: '---\ntitle: x\n---\n\n```sh\nls\nkubectl get pod <pod>\n```',
    message: /^content\/x\.mdx:7: `<pod>` looks like a placeholder/,
    line: 7,
  },
  {
    name: 'an unknown fence option',
    source: '```sh exitcode=2\nls\n```',
    message: /^content\/x\.mdx:1: unknown fence option "exitcode" — did you mean "exit=N"\?$/,
    line: 1,
  },
];

for (const { name, source, message, line } of failures) {
  test(`collectSnippets rejects ${name}`, () => {
    assert.throws(
      () => collectSnippets(source, 'x', { file: 'content/x.mdx' }),
      (error: unknown) => {
        assert.ok(error instanceof SnippetError, String(error));
        assert.match(error.message, message);
        assert.equal(error.line, line);
        return true;
      },
    );
  });
}
