import type { Element, ElementContent, Properties } from 'hast';
import type { Snippet, TaskPlan } from './chapter.ts';
import { highlightShell } from './highlight.ts';
import { type PlaceholderMatch, placeholderMatches } from './placeholders.ts';
import { checkScript, HINT_ELEMENT, isHintNode, type TreeNode } from './tasks.ts';

/**
 * The markup of a task (see tasks.ts for what an author writes). The `<Task>` element itself
 * stays an MDX element, renamed to `<kn-task>` with data attributes, so its prose keeps the
 * page's styles; a header and a bar of buttons are added around what the author wrote, each
 * `<Hint>` becomes `<kn-hint>`, the check becomes a collapsed "How this is checked", and the
 * solution is a runnable snippet the page keeps hidden until asked for
 * (src/client/task-element.ts drives all of it).
 */

/** The check's script: its commands, one per line. */
/** The attributes of `<kn-task>`, as MDX JSX attributes. */
export function taskAttributes(task: TaskPlan, chapter: string): TreeNode['attributes'] {
  const attributes: Record<string, string> = {
    class: 'kn-task',
    'data-task-id': task.id,
    'data-chapter': chapter,
    'data-title': task.title,
    'data-hints': String(task.hints),
    'data-solution-after': String(task.solutionAfter),
    'data-state': 'open',
  };
  return Object.entries(attributes).map(([name, value]) => ({
    type: 'mdxJsxAttribute',
    name,
    value,
  }));
}

/** Inline code whose placeholders show the reader's values (variables-element.ts fills them). */
function inlineCodeWithValues(code: string, found: readonly PlaceholderMatch[]): Element {
  const children: ElementContent[] = [];
  let from = 0;
  for (const { name, start, end } of found) {
    if (start > from) children.push(text(code.slice(from, start)));
    children.push(element('span', { className: ['kn-var'], dataVar: name }, [text(`<${name}>`)]));
    from = end;
  }
  if (from < code.length) children.push(text(code.slice(from)));
  return element('code', {}, children);
}

/**
 * Renames a `<Task>` node (in place) to `<kn-task>` and adds its header and bar. In its prose,
 * placeholders in inline code (`` `<task_pod>` ``) show the reader's values, as in the code
 * blocks: the goal and the hints name what they must type.
 */
export function renderTaskNode(
  node: TreeNode,
  task: TaskPlan,
  chapter: string,
  declared: ReadonlySet<string>,
  markup: (element: Element) => TreeNode,
): void {
  node.name = 'kn-task';
  node.attributes = taskAttributes(task, chapter);
  // Sätteri hands over frozen nodes: copy what changes, share the rest.
  const showValues = (parent: TreeNode): TreeNode => {
    if (parent.type === 'code' || !parent.children) return parent;
    let changed = false;
    const children = parent.children.map((child) => {
      const value = (child as { value?: unknown }).value;
      const found =
        child.type === 'inlineCode' && typeof value === 'string'
          ? placeholderMatches(value, declared)
          : [];
      const next =
        found.length > 0 ? markup(inlineCodeWithValues(value as string, found)) : showValues(child);
      if (next !== child) changed = true;
      return next;
    });
    if (isHintNode(parent)) {
      // Renamed here: Sätteri does not visit the copies made above.
      const hint = { ...parent, children };
      renderHintNode(hint);
      return hint;
    }
    return changed ? { ...parent, children } : parent;
  };
  node.children = showValues(node).children;
  node.children = [
    markup(taskHeaderElement(task)),
    ...(node.children ?? []),
    markup(taskBarElement(task)),
  ];
}

/** Renames a `<Hint>` node (in place) to `<kn-hint>`, hidden until the reader asks. */
export function renderHintNode(node: TreeNode): void {
  if (node.name !== HINT_ELEMENT) return;
  node.name = 'kn-hint';
  node.attributes = [
    { type: 'mdxJsxAttribute', name: 'class', value: 'kn-hint' },
    { type: 'mdxJsxAttribute', name: 'hidden', value: 'hidden' },
  ];
}

function taskHeaderElement(task: TaskPlan): Element {
  return element('div', { className: ['kn-task-header', 'not-content'] }, [
    element('span', { className: ['kn-task-label'] }, [text('Your turn')]),
    element('strong', { className: ['kn-task-title'] }, [text(task.title)]),
    element('span', { className: ['kn-task-badge'], ariaHidden: 'true' }, []),
  ]);
}

function taskBarElement(task: TaskPlan): Element {
  const button = (action: string, label: string, extra: Properties = {}): Element =>
    element(
      'button',
      { type: 'button', className: [`kn-task-${action}`], dataAction: action, ...extra },
      [text(label)],
    );
  return element('div', { className: ['kn-task-bar', 'not-content'] }, [
    button('check', 'Check', { ariaLabel: `Check: ${task.title}` }),
    button('hint', `Hint (1 of ${task.hints})`),
    button('solution', 'Show me'),
    element('p', { className: ['kn-task-status'], role: 'status', ariaLive: 'polite' }, [
      text('Not checked yet. Try it in the terminal; this turns green when it is done.'),
    ]),
  ]);
}

/** The check, shown collapsed: what "done" means, for a reader who wants to know. */
export function checkElement(check: Snippet, declared: ReadonlySet<string>): Element {
  const lines = highlightShell(checkScript(check), declared).map((content) =>
    element('span', { className: ['kn-line', 'kn-command'] }, [...content, text('\n')]),
  );
  return element('details', { className: ['kn-task-how', 'not-content'] }, [
    element('summary', {}, [text('How this is checked')]),
    element('div', { className: ['kn-snippet-code'] }, [
      element('pre', { className: ['kn-pre'], tabIndex: 0 }, [element('code', {}, lines)]),
    ]),
  ]);
}

function element(tagName: string, properties: Properties, children: ElementContent[]): Element {
  return { type: 'element', tagName, properties, children };
}

function text(value: string): ElementContent {
  return { type: 'text', value };
}
