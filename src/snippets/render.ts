import type { Element, ElementContent, Properties } from 'hast';
import type { Snippet } from './chapter.ts';
import { highlightShell, variableSpan } from './highlight.ts';
import type { DisplayLine } from './parse.ts';
import type { VariableSpec } from './variables.ts';

/**
 * The markup of a runnable snippet and of the page's variables panel, as hast. The browser's
 * custom elements (src/client: <kn-snippet>, <kn-variables>) find them by tag name and data
 * attributes.
 *
 * Expressive Code must not restyle our <pre>: both its rehype plugin and its Sätteri plugin
 * (astro-expressive-code, `getCodeBlockInfo`) only take a <pre> whose single child is a <code>
 * whose FIRST child is a text node. Our <code> always starts with a `span.kn-line` element,
 * so both skip it. Astro's own highlighter would take any <pre><code>, but Starlight turns it
 * off (`markdown.syntaxHighlight: false`) when it installs Expressive Code.
 */

const RUN_LABEL_LENGTH = 60;

export function snippetElement(
  snippet: Snippet,
  declared: ReadonlySet<string>,
  /** the chapter's variables: where the expected output shows a default, it follows the reader */
  specs: Readonly<Record<string, VariableSpec>> = {},
): Element {
  const { meta } = snippet;
  const properties: Properties = {
    // Starlight's prose styles (margins between siblings, blockquote-like details) stay out.
    className: ['not-content'],
    dataSnippetId: snippet.id,
    dataState: 'idle',
    dataCommands: JSON.stringify(snippet.commands),
    dataExit: String(meta.exit),
  };
  if (snippet.line !== undefined) properties.dataLine = String(snippet.line);
  // It talks to the cluster: Run waits for one (the page says so before the click).
  if (snippet.commands.some((command) => /\bkubectl\b/.test(command))) properties.dataCluster = '';
  if (meta.needs.length > 0) {
    properties.dataNeeds = meta.needs.join(' ');
    properties.dataNeedsReason = meta.reason ?? '';
  }
  if (meta.timeoutMs !== undefined) properties.dataTimeoutMs = String(meta.timeoutMs);
  if (meta.until !== undefined) properties.dataUntil = meta.until;
  if (meta.keep) properties.dataKeep = '';
  // Which of the dock's terminals runs it (the first unless the block says otherwise).
  if (meta.term !== 1) properties.dataTerm = String(meta.term);
  if (meta.open !== undefined) properties.dataOpen = meta.open;
  if (snippet.variables.length > 0) properties.dataVariables = snippet.variables.join(' ');
  // A task's solution: hidden by its <kn-task> until the reader asks (render-task.ts).
  if (snippet.task !== undefined) properties.dataTask = snippet.task;
  if (meta.role !== undefined) properties.dataRole = meta.role;
  // "Start this chapter clean" runs these (src/client/chapter-reset.ts).
  if (meta.cleanup) properties.dataCleanup = '';

  const children: Element[] = [];
  if (meta.title !== undefined) {
    children.push(element('div', { className: ['kn-snippet-title'] }, [text(meta.title)]));
  }
  children.push(
    element('div', { className: ['kn-snippet-code'] }, [
      element('pre', { className: ['kn-pre'], tabIndex: 0 }, [
        element('code', {}, renderLines(snippet, declared, specs)),
      ]),
    ]),
    // Button labels are not the guide's text: search leaves them out.
    element('div', { className: ['kn-snippet-bar'], dataPagefindIgnore: '' }, [
      element(
        'button',
        { type: 'button', className: ['kn-run'], dataAction: 'run', ariaLabel: runLabel(snippet) },
        [text('Run')],
      ),
      element(
        'button',
        { type: 'button', className: ['kn-copy'], dataAction: 'copy', ariaLabel: 'Copy commands' },
        [text('Copy')],
      ),
      element('span', { className: ['kn-status'], role: 'status', ariaLive: 'polite' }, []),
    ]),
  );
  return element('kn-snippet', properties, children);
}

/** The form where the reader sets the page's variables; `variables` are those its snippets use. */
export function variablesPanelElement(variables: Readonly<Record<string, VariableSpec>>): Element {
  const fields = Object.entries(variables).map(([name, spec]) => {
    const id = `kn-var-${name}`;
    return element('div', { className: ['kn-variable'] }, [
      element('label', { htmlFor: [id] }, [text(name)]),
      element(
        'input',
        {
          type: 'text',
          id,
          name,
          value: spec.default,
          dataKind: spec.kind,
          autoComplete: ['off'],
          spellCheck: 'false',
          ariaDescribedBy: [`${id}-help`, `${id}-error`],
        },
        [],
      ),
      element('p', { id: `${id}-help`, className: ['kn-variable-help'] }, [text(spec.description)]),
      element('p', { id: `${id}-error`, className: ['kn-variable-error'], ariaLive: 'polite' }, []),
    ]);
  });
  return element(
    'kn-variables',
    { className: ['not-content'], dataVariables: JSON.stringify(variables) },
    [element('details', { open: true }, [element('summary', {}, [text('Variables')]), ...fields])],
  );
}

function renderLines(
  snippet: Snippet,
  declared: ReadonlySet<string>,
  specs: Readonly<Record<string, VariableSpec>>,
): Element[] {
  const shown = outputVariables(snippet, specs);
  // Highlight each command whole so heredoc bodies and continuations get their real colours.
  const highlighted = snippet.commands.map((command) => highlightShell(command, declared));
  const nextLine = snippet.commands.map(() => 0);
  return snippet.parsed.lines.map((line) => {
    let content: ElementContent[];
    if (line.command !== undefined) {
      const lineIndex = nextLine[line.command]!++;
      content = highlighted[line.command]?.[lineIndex] ?? [text(line.text)];
    } else if (line.kind === 'comment') {
      content = highlightShell(line.text, declared)[0] ?? [];
    } else {
      content = line.text === '' ? [] : withVariables(line.text, shown);
    }
    return element('span', { className: ['kn-line', `kn-${line.kind}`] }, [
      ...promptElement(line),
      ...content,
      text('\n'),
    ]);
  });
}

/**
 * The chapter's variables whose default the expected output may show: all of them, since a
 * block's output names what earlier blocks made (`kubectl get pods` lists the Pod `web`).
 */
function outputVariables(
  _snippet: Snippet,
  specs: Readonly<Record<string, VariableSpec>>,
): { name: string; value: string }[] {
  return Object.entries(specs)
    .map(([name, spec]) => ({ name, value: spec.default }))
    .filter(({ value }) => value.length >= 3)
    .sort((a, b) => b.value.length - a.value.length);
}

/**
 * An output line with each variable's default, where it stands as a whole word (`pod/web
 * created`, not `website`), turned into the variable's span: it shows the reader's value.
 */
function withVariables(line: string, shown: { name: string; value: string }[]): ElementContent[] {
  if (shown.length === 0) return [text(line)];
  const literal = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(
    `(?<![\\w.-])(${shown.map((v) => literal(v.value)).join('|')})(?![\\w-]|\\.\\w)`,
    'g',
  );
  const out: ElementContent[] = [];
  let at = 0;
  for (const match of line.matchAll(pattern)) {
    const variable = shown.find((v) => v.value === match[1]);
    if (!variable) continue;
    if (match.index > at) out.push(text(line.slice(at, match.index)));
    out.push(variableSpan(variable.name));
    at = match.index + match[0].length;
  }
  if (at < line.length) out.push(text(line.slice(at)));
  return out;
}

/** The prompt is drawn by CSS from `data-prompt`, so selecting and copying the block skips it. */
function promptElement(line: DisplayLine): Element[] {
  if (line.prompt === '') return [];
  return [
    element('span', { className: ['kn-prompt'], ariaHidden: 'true', dataPrompt: line.prompt }, []),
  ];
}

/** `Run: ` and the first line of the first command, cut at a word near 60 characters. */
function runLabel(snippet: Snippet): string {
  const first = snippet.commands[0]?.split('\n')[0] ?? '';
  if (first.length <= RUN_LABEL_LENGTH) return `Run: ${first}`;
  const cut = first.slice(0, RUN_LABEL_LENGTH);
  const space = cut.lastIndexOf(' ');
  return `Run: ${(space > RUN_LABEL_LENGTH / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function element(tagName: string, properties: Properties, children: ElementContent[]): Element {
  return { type: 'element', tagName, properties, children };
}

function text(value: string): ElementContent {
  return { type: 'text', value };
}
