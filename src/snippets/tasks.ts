/**
 * Tasks: what a chapter asks the reader to do alone, written in MDX as
 *
 *     <Task id="scale-to-five" title="Scale web to five">
 *     The goal, in prose.
 *     ```sh check
 *     … exits 0 when done; otherwise prints one line and exits 1
 *     ```
 *     <Hint>The first hint.</Hint>
 *     <Hint>The second, revealed after the first.</Hint>
 *     ```console solution
 *     $ the answer, hidden until asked for
 *     ```
 *     </Task>
 *
 * This file finds those elements in an mdast tree as Sätteri parses it,
 * so that chapter.ts can plan them with the code blocks they hold, and turns a planned Task
 * into the `<kn-task>` markup the page's script drives (src/client/task-element.ts).
 */

/** The MDX element names an author writes. */
export const TASK_ELEMENT = 'Task';
export const HINT_ELEMENT = 'Hint';
/** How many failed checks reveal the solution, unless the task says `solutionAfter`. */
export const DEFAULT_SOLUTION_AFTER = 3;

interface JsxAttribute {
  type: string;
  name?: string;
  value?: unknown;
}

export interface TreeNode {
  type: string;
  name?: string | null;
  attributes?: JsxAttribute[];
  children?: TreeNode[];
  position?: { start: { line: number; offset?: number }; end?: { line: number; offset?: number } };
}

/** A `<Task>` as written, before chapter.ts checks it. */
export interface TaskSource {
  /** the attributes as written (undefined: missing; null: not a plain string) */
  id: string | null | undefined;
  title: string | null | undefined;
  solutionAfter: string | null | undefined;
  /** 1-based line of `<Task`, when known */
  line: number | undefined;
  hints: number;
  /** the `code` nodes inside it, to tell which blocks belong to which task */
  codeNodes: ReadonlySet<TreeNode>;
  /** a `<Task>` inside another one */
  nested: boolean;
  node: TreeNode;
}

export function isTaskNode(node: TreeNode): boolean {
  return isJsx(node) && node.name === TASK_ELEMENT;
}

export function isHintNode(node: TreeNode): boolean {
  return isJsx(node) && node.name === HINT_ELEMENT;
}

function isJsx(node: TreeNode): boolean {
  return node.type === 'mdxJsxFlowElement' || node.type === 'mdxJsxTextElement';
}

/** A plain string attribute; null when written as an expression (`id={x}`). */
export function attribute(node: TreeNode, name: string): string | null | undefined {
  const found = node.attributes?.find((a) => a.type === 'mdxJsxAttribute' && a.name === name);
  if (found === undefined) return undefined;
  return typeof found.value === 'string' ? found.value : null;
}

/** Every `<Task>` in the tree, in document order. */
export function findTasks(root: TreeNode): TaskSource[] {
  const tasks: TaskSource[] = [];
  const walk = (node: TreeNode, inTask: boolean): void => {
    for (const child of node.children ?? []) {
      if (isTaskNode(child)) {
        const codeNodes = new Set<TreeNode>();
        let hints = 0;
        const inside = (n: TreeNode): void => {
          for (const c of n.children ?? []) {
            if (c.type === 'code') codeNodes.add(c);
            if (isHintNode(c)) hints++;
            inside(c);
          }
        };
        inside(child);
        tasks.push({
          id: attribute(child, 'id'),
          title: attribute(child, 'title'),
          solutionAfter: attribute(child, 'solutionAfter'),
          line: child.position?.start.line,
          hints,
          codeNodes,
          nested: inTask,
          node: child,
        });
        walk(child, true);
      } else {
        walk(child, inTask);
      }
    }
  };
  walk(root, false);
  return tasks;
}

/** The index of the task holding `node`, or undefined. */
export function taskOf(node: TreeNode, tasks: readonly TaskSource[]): number | undefined {
  // The innermost (last found) wins, though nesting is refused anyway.
  for (let i = tasks.length - 1; i >= 0; i--) if (tasks[i]!.codeNodes.has(node)) return i;
  return undefined;
}

/**
 * The script a task's check runs: its commands, one per line. Here rather than beside the
 * rendering, so that what the server and pack import never pulls in the highlighter (shiki),
 * which the sandbox's image does not carry.
 */
export function checkScript(check: { readonly commands: readonly string[] }): string {
  return check.commands.join('\n');
}
