import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SnippetError } from '../../../src/snippets/chapter.ts';
import { collectSnippets } from '../../../src/snippets/extract.ts';

const FRONT = `---
title: T
variables:
  deployment:
    default: web
    description: The Deployment.
    kind: dns-label
---
`;

const TASK = `<Task id="scale-web" title="Scale web to five">

Make \`<deployment>\` run five Pods.

\`\`\`sh check
n=$(kubectl get deploy <deployment> -o jsonpath='{.spec.replicas}')
[ "$n" = 5 ] || { echo "$n of 5"; exit 1; }
\`\`\`

<Hint>Use \`kubectl scale deployment <deployment>\`.</Hint>

<Hint>

The flag is \`--replicas\`.

</Hint>

\`\`\`console solution
$ kubectl scale deployment <deployment> --replicas=5
\`\`\`

</Task>
`;

test('a task is collected with its check, hints and solution; steps keep their numbers', () => {
  const chapter = collectSnippets(
    `${FRONT}\n\`\`\`console\n$ kubectl get pods\n\`\`\`\n\n${TASK}\n\`\`\`console\n$ kubectl get deploy\n\`\`\`\n`,
    'scaling',
  );
  assert.deepEqual(
    chapter.snippets.map((s) => [s.id, s.task ?? null, s.meta.role ?? null]),
    [
      ['scaling-1', null, null],
      ['scale-web-solution', 'scale-web', 'solution'],
      ['scaling-2', null, null],
    ],
  );
  const [task] = chapter.tasks;
  assert.equal(task?.id, 'scale-web');
  assert.equal(task?.title, 'Scale web to five');
  assert.equal(task?.hints, 2);
  assert.equal(task?.solutionAfter, 3);
  assert.equal(task?.line, 14);
  assert.deepEqual(task?.check.variables, ['deployment']);
  assert.match(
    task?.check.script ?? '',
    /^n=\$\(kubectl get deploy <deployment> .*\n\[ "\$n" = 5 \]/,
  );
});

test('a task without a check, solution or hint fails with the file and its line', () => {
  const broken = TASK.replace(/```sh check[\s\S]*?```\n/, '')
    .replace(/```console solution[\s\S]*?```\n/, '')
    .replace(/<Hint>[\s\S]*<\/Hint>\n/, '');
  assert.throws(
    () => collectSnippets(`${FRONT}\n${broken}`, 'scaling', { file: 'content/scaling.mdx' }),
    (error: unknown) => {
      assert.ok(error instanceof SnippetError);
      assert.equal(error.line, 10);
      assert.match(error.message, /content\/scaling\.mdx:10: task "scale-web" has no check/);
      assert.match(error.message, /content\/scaling\.mdx:10: task "scale-web" has no solution/);
      assert.match(error.message, /content\/scaling\.mdx:10: task "scale-web" has no hint/);
      return true;
    },
  );
});

test('a check outside a task, a bad task id and a duplicate id are refused', () => {
  assert.throws(
    () => collectSnippets(`${FRONT}\n\`\`\`sh check\ntrue\n\`\`\`\n`, 'x', { file: 'x.mdx' }),
    /x\.mdx:10: a `check` block belongs inside a <Task/,
  );
  assert.throws(
    () => collectSnippets(`${FRONT}\n${TASK.replace('scale-web', 'Scale Web')}`, 'x'),
    /task "Scale Web" needs an id="…" of lowercase letters/,
  );
  assert.throws(
    () => collectSnippets(`${FRONT}\n${TASK}\n${TASK}`, 'x'),
    /task id "scale-web" is already used at line 10/,
  );
});

test('the Markdown pipeline turns <Task> into <kn-task>, with its hints, check and hidden solution', async () => {
  const { mdxToJs } = await import('satteri');
  const { satteriSnippets } = await import('../../../src/snippets/satteri-snippets.ts');
  const frontmatter = {
    title: 'T',
    variables: { deployment: { default: 'web', description: 'd', kind: 'dns-label' } },
  };
  const path = '/site/content/scaling.mdx';
  // Sätteri (what Astro runs) hands plugins frozen nodes: this compiles only if none is mutated.
  const { code } = mdxToJs(TASK, {
    mdastPlugins: [satteriSnippets()],
    fileURL: new URL(`file://${path}`),
    data: { astro: { frontmatter } },
  } as Parameters<typeof mdxToJs>[1]) as { code: string };
  assert.match(code, /_jsxs?\("kn-task", \{[^}]*"data-task-id": "scale-web"/s);
  assert.match(code, /"data-chapter": "scaling"/);
  assert.equal(code.match(/_jsxs?\("kn-hint"/g)?.length, 2, 'two hints');
  assert.match(code, /"data-role": "solution"/);
  assert.match(code, /How this is checked/);
  assert.match(code, /"data-var": "deployment"/, "the goal shows the reader's value");
});

test('a cleanup block is a step the page can run to start clean; inside a task it is refused', () => {
  const chapter = collectSnippets(
    `${FRONT}\n\`\`\`console cleanup\n$ kubectl delete deployment <deployment>\n\`\`\`\n`,
    'x',
  );
  assert.equal(chapter.snippets[0]?.meta.cleanup, true);
  assert.equal(chapter.snippets[0]?.id, 'x-1');
  assert.throws(
    () =>
      collectSnippets(
        `${FRONT}\n${TASK.replace('```console solution', '```console cleanup\n$ true\n```\n\n```console solution')}`,
        'x',
      ),
    /a task holds no `cleanup` block/,
  );
});
