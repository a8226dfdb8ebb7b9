import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Element, ElementContent, Root, RootContent } from 'hast';
import { htmlToHast, markdownToHtml, mdxToJs } from 'satteri';
import { SnippetError } from '../../../src/snippets/chapter.ts';
import { satteriSnippets } from '../../../src/snippets/satteri-snippets.ts';

/** The snippet transform, end to end as Astro runs it (Sätteri): Markdown in, HTML out. */

const FRONTMATTER = {
  title: 'Pods',
  variables: {
    pod_name: { default: 'web', description: 'Name of the Pod.', kind: 'dns-label' },
    image: { default: 'nginx:1.27', description: 'Image to run.', kind: 'image' },
    unused: { default: 'x', description: 'Declared, never used.' },
  },
};

interface Chapter {
  markdown: string;
  frontmatter?: unknown;
  path?: string;
}

const PIPELINES: Record<string, (chapter: Chapter) => Promise<string>> = {
  satteri: async ({ markdown, frontmatter = FRONTMATTER, path = '/site/content/pods.mdx' }) => {
    const options = {
      mdastPlugins: [satteriSnippets()],
      fileURL: new URL(`file://${path}`),
      data: { astro: { frontmatter } },
    };
    if (path.endsWith('.mdx')) {
      // MDX compiles to JS; render the .md path for HTML but make sure MDX compiles too.
      await mdxToJs(markdown, options);
    }
    return markdownToHtml(markdown, options).html;
  },
};

async function render(pipeline: string, chapter: Chapter): Promise<Root> {
  const html = await PIPELINES[pipeline]!(chapter);
  return htmlToHast(html, { fragment: true }) as Root;
}

function all(node: Root | ElementContent | RootContent, match: (e: Element) => boolean): Element[] {
  const found: Element[] = [];
  if (node.type === 'element' && match(node)) found.push(node);
  if ('children' in node) for (const child of node.children) found.push(...all(child, match));
  return found;
}

const tag = (name: string) => (e: Element) => e.tagName === name;
const hasClass = (name: string) => (e: Element) =>
  Array.isArray(e.properties.className) && e.properties.className.includes(name);

function textOf(node: ElementContent | Element): string {
  if (node.type === 'text') return node.value;
  if (node.type === 'element') return node.children.map(textOf).join('');
  return '';
}

const CHAPTER = `# Pods

Some text.

\`\`\`yaml
apiVersion: v1
\`\`\`

\`\`\`console
$ kubectl get pods
No resources found in default namespace.
\`\`\`

- A step in a list:

  \`\`\`sh timeout=90s
  kubectl run <pod_name> --image=<image> --restart=Never
  \`\`\`

\`\`\`
kubectl get pod <pod_name>
\`\`\`

\`\`\`bash id=port-forward until="Forwarding from" exit=0
kubectl port-forward pod/<pod_name> 8080:80
\`\`\`

\`\`\`shell-session needs=docker,kind reason="loads an image into kind" exit=3 title="Load it"
$ cat > Dockerfile << EOF
    heredoc> FROM alpine:3.14.2
    heredoc> EOF
$ kind load docker-image getting-started:1.0.0
Image loaded
\`\`\`

\`\`\`sh norun title="Do not run"
rm -rf /tmp/<pod_name>
\`\`\`
`;

for (const pipeline of Object.keys(PIPELINES)) {
  test(`${pipeline}: runnable blocks become kn-snippet with ids and commands`, async () => {
    const tree = await render(pipeline, { markdown: CHAPTER });
    const snippets = all(tree, tag('kn-snippet'));
    assert.deepEqual(
      snippets.map((s) => s.properties.dataSnippetId),
      ['pods-1', 'pods-2', 'pods-3', 'port-forward', 'pods-5'],
    );
    assert.deepEqual(
      snippets.map((s) => JSON.parse(String(s.properties.dataCommands))),
      [
        ['kubectl get pods'],
        ['kubectl run <pod_name> --image=<image> --restart=Never'],
        ['kubectl get pod <pod_name>'],
        ['kubectl port-forward pod/<pod_name> 8080:80'],
        [
          'cat > Dockerfile << EOF\nFROM alpine:3.14.2\nEOF',
          'kind load docker-image getting-started:1.0.0',
        ],
      ],
    );
    assert.deepEqual(
      snippets.map((s) => s.properties.dataState),
      ['idle', 'idle', 'idle', 'idle', 'idle'],
    );
  });

  test(`${pipeline}: fence options become data attributes`, async () => {
    const tree = await render(pipeline, { markdown: CHAPTER });
    const [get, run, , forward, load] = all(tree, tag('kn-snippet'));
    assert.deepEqual(get!.properties, {
      className: ['not-content'],
      dataSnippetId: 'pods-1',
      dataState: 'idle',
      dataCommands: '["kubectl get pods"]',
      dataExit: '0',
    });
    assert.equal(run!.properties.dataTimeoutMs, '90000');
    assert.equal(run!.properties.dataVariables, 'pod_name image');
    assert.equal(forward!.properties.dataUntil, 'Forwarding from');
    assert.equal(load!.properties.dataNeeds, 'docker kind');
    assert.equal(load!.properties.dataNeedsReason, 'loads an image into kind');
    assert.equal(load!.properties.dataExit, '3');
    assert.deepEqual(all(load!, hasClass('kn-snippet-title')).map(textOf), ['Load it']);
    assert.deepEqual(all(get!, hasClass('kn-snippet-title')), []);
  });

  test(`${pipeline}: open= becomes data-open; its placeholders count as the block's, undeclared ones fail`, async () => {
    const markdown = '```console open="pod/<pod_name>:80"\n$ kubectl get pods\n```';
    const [block] = all(await render(pipeline, { markdown }), tag('kn-snippet'));
    assert.equal(block!.properties.dataOpen, 'pod/<pod_name>:80');
    assert.equal(block!.properties.dataVariables, 'pod_name');
    await assert.rejects(
      PIPELINES[pipeline]!({ markdown: '```console open="svc/<nope>:80"\n$ ls\n```' }),
      /`<nope>` looks like a placeholder/,
    );
  });

  test(`${pipeline}: one span per display line, prompts drawn from data-prompt`, async () => {
    const tree = await render(pipeline, { markdown: CHAPTER });
    const load = all(tree, tag('kn-snippet'))[4]!;
    const lines = all(load, hasClass('kn-line'));
    assert.deepEqual(
      lines.map((line) => {
        const kind = (line.properties.className as string[])[1];
        const prompt = all(line, hasClass('kn-prompt'))[0];
        return [kind, prompt?.properties.dataPrompt ?? '', textOf(line)];
      }),
      [
        ['kn-command', '$ ', 'cat > Dockerfile << EOF\n'],
        ['kn-continuation', 'heredoc> ', 'FROM alpine:3.14.2\n'],
        ['kn-continuation', 'heredoc> ', 'EOF\n'],
        ['kn-command', '$ ', 'kind load docker-image getting-started:1.0.0\n'],
        ['kn-output', '', 'Image loaded\n'],
      ],
    );
    for (const prompt of all(load, hasClass('kn-prompt'))) {
      assert.equal(prompt.properties.ariaHidden, 'true');
      assert.deepEqual(prompt.children, [], 'the prompt text comes from CSS, so copying skips it');
    }
    const pre = all(load, tag('pre'))[0]!;
    assert.deepEqual(pre.properties, { className: ['kn-pre'], tabIndex: 0 });
  });

  test(`${pipeline}: commands are highlighted with light and dark colours`, async () => {
    const tree = await render(pipeline, { markdown: CHAPTER });
    const get = all(tree, tag('kn-snippet'))[0]!;
    const command = all(get, hasClass('kn-command'))[0]!;
    const styled = all(command, (e) => typeof e.properties.style === 'string');
    assert.ok(styled.length > 0);
    for (const span of styled) {
      assert.match(
        String(span.properties.style),
        /^--shiki-light:#[0-9A-Fa-f]{6};--shiki-dark:#[0-9A-Fa-f]{6}/,
      );
    }
    const output = all(get, hasClass('kn-output'))[0]!;
    assert.deepEqual(
      all(output, (e) => e.tagName === 'span' && e !== output),
      [],
      'output is plain',
    );
  });

  test(`${pipeline}: placeholders are whole kn-var spans`, async () => {
    const tree = await render(pipeline, { markdown: CHAPTER });
    const run = all(tree, tag('kn-snippet'))[1]!;
    const vars = all(run, hasClass('kn-var'));
    assert.deepEqual(
      vars.map((v) => [v.properties.dataVar, v.properties.title, v.children]),
      [
        [
          'pod_name',
          'Variable: set it in the Variables panel',
          [{ type: 'text', value: '<pod_name>' }],
        ],
        ['image', 'Variable: set it in the Variables panel', [{ type: 'text', value: '<image>' }]],
      ],
    );
    assert.equal(
      textOf(all(run, hasClass('kn-command'))[0]!),
      'kubectl run <pod_name> --image=<image> --restart=Never\n',
    );
  });

  test(`${pipeline}: the buttons name the first command`, async () => {
    const long = `\`\`\`sh\nkubectl get pods --all-namespaces --output=wide --show-labels --sort-by=.metadata.name\nls\n\`\`\``;
    const tree = await render(pipeline, { markdown: long });
    const [run, copy] = all(tree, tag('button'));
    assert.deepEqual(run!.properties, {
      type: 'button',
      className: ['kn-run'],
      dataAction: 'run',
      ariaLabel: 'Run: kubectl get pods --all-namespaces --output=wide…',
    });
    assert.equal(copy!.properties.ariaLabel, 'Copy commands');
    const status = all(tree, hasClass('kn-status'))[0]!;
    assert.deepEqual(status.properties, {
      className: ['kn-status'],
      role: 'status',
      ariaLive: 'polite',
    });
  });

  test(`${pipeline}: one variables panel, before the first snippet that uses a variable`, async () => {
    const tree = await render(pipeline, { markdown: CHAPTER });
    const panels = all(tree, tag('kn-variables'));
    assert.equal(panels.length, 1);
    const order = all(tree, (e) => e.tagName === 'kn-variables' || e.tagName === 'kn-snippet').map(
      (e) => e.properties.dataSnippetId ?? 'panel',
    );
    assert.deepEqual(order, ['pods-1', 'panel', 'pods-2', 'pods-3', 'port-forward', 'pods-5']);
    const panel = panels[0]!;
    assert.deepEqual(JSON.parse(String(panel.properties.dataVariables)), {
      pod_name: { default: 'web', description: 'Name of the Pod.', kind: 'dns-label' },
      image: { default: 'nginx:1.27', description: 'Image to run.', kind: 'image' },
    });
    assert.equal(all(panel, tag('summary')).map(textOf)[0], 'Variables');
    assert.equal(all(panel, tag('details'))[0]!.properties.open, true);
    const input = all(panel, tag('input'))[0]!;
    assert.deepEqual(input.properties, {
      type: 'text',
      id: 'kn-var-pod_name',
      name: 'pod_name',
      value: 'web',
      dataKind: 'dns-label',
      autoComplete: ['off'],
      spellCheck: 'false',
      ariaDescribedBy: ['kn-var-pod_name-help', 'kn-var-pod_name-error'],
    });
    assert.deepEqual(all(panel, tag('label'))[0]!.properties, { htmlFor: ['kn-var-pod_name'] });
    assert.deepEqual(all(panel, hasClass('kn-variable-help')).map(textOf), [
      'Name of the Pod.',
      'Image to run.',
    ]);
    const error = all(panel, hasClass('kn-variable-error'))[0]!;
    assert.deepEqual(error.properties, {
      id: 'kn-var-pod_name-error',
      className: ['kn-variable-error'],
      ariaLive: 'polite',
    });
  });

  test(`${pipeline}: no variables used, no panel`, async () => {
    const tree = await render(pipeline, { markdown: '```sh\nls\n```' });
    assert.deepEqual(all(tree, tag('kn-variables')), []);
    assert.equal(all(tree, tag('kn-snippet'))[0]!.properties.dataVariables, undefined);
  });

  test(`${pipeline}: other languages and norun blocks stay plain code`, async () => {
    const tree = await render(pipeline, { markdown: CHAPTER });
    const plain = all(tree, tag('pre')).filter((pre) => !hasClass('kn-pre')(pre));
    assert.deepEqual(
      plain.map((pre) => [all(pre, tag('code'))[0]!.properties.className, textOf(pre)]),
      [
        [['language-yaml'], 'apiVersion: v1\n'],
        [['language-sh'], 'rm -rf /tmp/<pod_name>\n'],
      ],
    );
  });

  test(`${pipeline}: indented code in Markdown never runs`, async () => {
    const tree = await render(pipeline, {
      markdown: 'Text.\n\n    kubectl delete all --all\n',
      path: '/site/content/notes.md',
    });
    assert.deepEqual(all(tree, tag('kn-snippet')), []);
    assert.equal(textOf(all(tree, tag('pre'))[0]!), 'kubectl delete all --all\n');
  });

  test(`${pipeline}: a snippet in a tight list item is not unwrapped`, async () => {
    const tree = await render(pipeline, { markdown: '- step\n  ```sh\n  ls\n  ```\n- next' });
    const item = all(tree, tag('li'))[0]!;
    assert.equal(all(item, tag('kn-snippet')).length, 1);
  });

  const failures: { name: string; chapter: Chapter; message: RegExp; line: number }[] = [
    {
      name: 'a bad fence option',
      chapter: { markdown: '# T\n\n```console exitcode=1\n$ ls\n```\n' },
      message:
        /^\/site\/content\/pods\.mdx:3: unknown fence option "exitcode" — did you mean "exit=N"\?$/,
      line: 3,
    },
    {
      name: 'needs without a reason',
      chapter: { markdown: '```sh needs=docker\ndocker ps\n```' },
      message: /pods\.mdx:1: needs=docker needs a reason="…" saying why/,
      line: 1,
    },
    {
      name: 'an undeclared placeholder, at its own line',
      chapter: { markdown: 'x\n\n```console\n$ ls\n$ kubectl get pod <podname>\n```' },
      message:
        /pods\.mdx:5: `<podname>` looks like a placeholder, but the chapter declares no variable `podname`; declared: pod_name, image, unused\. Declare it under `variables:`/,
      line: 5,
    },
    {
      name: 'a placeholder in a chapter without variables',
      chapter: { markdown: '```sh\nkubectl get pod <pod-name>\n```', frontmatter: {} },
      message:
        /`<pod-name>` .*\(variable names use `_`, not `-`: `<pod_name>`\); this chapter declares no variables/,
      line: 2,
    },
    {
      name: 'an unclosed heredoc',
      chapter: { markdown: '```sh\ncat <<EOF > x\nbody\n```' },
      message: /pods\.mdx:2: the heredoc is never closed: add a line `EOF`/,
      line: 2,
    },
    {
      name: 'a duplicate id',
      chapter: { markdown: '```sh\nls\n```\n\n```sh id=pods-1\npwd\n```' },
      message: /pods\.mdx:5: snippet id "pods-1" is already used at line 1/,
      line: 5,
    },
    {
      name: 'a bad variable declaration',
      chapter: {
        markdown: '```sh\nls\n```',
        frontmatter: { variables: { port: { default: 8080, description: 'p', kind: 'port' } } },
      },
      message: /pods\.mdx:1: frontmatter variables\.port\.default: /,
      line: 1,
    },
  ];

  for (const { name, chapter, message, line } of failures) {
    test(`${pipeline}: ${name} fails the build with file and line`, async () => {
      await assert.rejects(PIPELINES[pipeline]!(chapter), (error: unknown) => {
        assert.ok(error instanceof SnippetError, String(error));
        assert.match(error.message, message);
        assert.equal(error.line, line);
        assert.equal(error.file, '/site/content/pods.mdx');
        return true;
      });
    });
  }

  test(`${pipeline}: all problems of a chapter are reported at once`, async () => {
    const markdown = '```sh exit=x\nls\n```\n\n```sh\nls <nope>\n```';
    await assert.rejects(PIPELINES[pipeline]!({ markdown }), (error: unknown) => {
      assert.ok(error instanceof SnippetError);
      assert.deepEqual(
        error.problems.map((p) => p.line),
        [1, 6],
      );
      assert.match(
        error.message,
        /^2 problems in snippets:\n.*pods\.mdx:1: exit=x.*\n.*pods\.mdx:6: `<nope>`/,
      );
      return true;
    });
  });
}

test('satteri: a norun block keeps its other options for Expressive Code', () => {
  const metas: unknown[] = [];
  markdownToHtml('```sh norun frame="none"\nls\n```\n\n```sh norun\nls\n```', {
    mdastPlugins: [satteriSnippets()],
    hastPlugins: [
      {
        name: 'spy',
        element: {
          filter: ['code'],
          visit: (node) =>
            void metas.push((node.data as { meta?: string } | undefined)?.meta ?? null),
        },
      },
    ],
  });
  assert.deepEqual(metas, ['frame="none"', null]);
});

// Expressive Code restyles a <pre> whose single <code> starts with a text node (its
// getCodeBlockInfo, in both its rehype and Sätteri plugins); a snippet's must not look like one.
test("satteri: a snippet's <code> starts with an element, so Expressive Code leaves it alone", async () => {
  const tree = await render('satteri', { markdown: CHAPTER });
  const codes = all(tree, (e) => e.tagName === 'kn-snippet').flatMap((s) => all(s, tag('code')));
  assert.ok(codes.length > 0);
  for (const code of codes) assert.equal(code.children[0]?.type, 'element');
});
