import { parseFenceMeta, type SnippetMeta, withoutNorun } from './meta.ts';
import { type ParsedSnippet, parseSnippet } from './parse.ts';
import { findPlaceholders, undeclaredPlaceholderLike } from './placeholders.ts';
import { DEFAULT_SOLUTION_AFTER, type TaskSource } from './tasks.ts';
import { readChapterVariables, type VariableSpec } from './variables.ts';

/**
 * The rules that turn a chapter's code blocks into runnable snippets, shared by the Markdown
 * plugins (which render them) and `collectSnippets` (which the doc-tests run), so both agree on
 * which blocks run, their ids and their commands.
 */

/** Fence languages that hold shell sessions; a fence without a language counts too. */
export const SHELL_LANGS: ReadonlySet<string> = new Set([
  'console',
  'sh',
  'shell',
  'bash',
  'shell-session',
]);

/** A code block as any Markdown parser reports it. */
export interface CodeBlock {
  lang: string | null | undefined;
  meta: string | null | undefined;
  value: string;
  /** 1-based line of the opening fence in the chapter's file, when known. */
  line: number | undefined;
  /** False for an indented code block (Markdown only), which never runs. */
  fenced: boolean;
  /** The index of the `<Task>` (tasks.ts) holding the block, if any. */
  task?: number | undefined;
}

export interface ChapterSource {
  /** The chapter's path, for error messages. */
  file: string;
  /** The file name without extension; snippet ids start with it. */
  slug: string;
  /** The raw frontmatter object; its `variables:` declares the placeholders. */
  frontmatter: unknown;
}

export interface Snippet {
  id: string;
  commands: string[];
  meta: SnippetMeta;
  /** 1-based line of the opening fence, when known. */
  line: number | undefined;
  parsed: ParsedSnippet;
  /** Variables this snippet's commands use, in order of first use. */
  variables: string[];
  /** The id of the task whose check or solution this is. */
  task?: string;
}

/** A `<Task>` with everything it needs (chapter.ts refuses one without). */
export interface TaskPlan {
  id: string;
  title: string;
  line: number | undefined;
  hints: number;
  /** failed checks after which the solution shows by itself */
  solutionAfter: number;
  /** the check's script is its commands, one per line */
  check: Snippet;
  solution: Snippet;
}

export type BlockPlan =
  /** Not a shell block, or one without commands: leave it to Expressive Code. */
  | { action: 'keep' }
  /** A `norun` block: leave it to Expressive Code, with this meta (`norun` removed). */
  | { action: 'display'; meta: string | null }
  | { action: 'run'; snippet: Snippet }
  /** A task's check: shown, never run in the terminal (the server runs it). */
  | { action: 'check'; snippet: Snippet };

export interface ChapterPlan {
  /** The chapter's declared variables (frontmatter `variables:`, defaults filled in). */
  declared: Record<string, VariableSpec>;
  /** One plan per block, in the order given. */
  blocks: BlockPlan[];
  /** One plan per `<Task>`, in the order given. */
  tasks: TaskPlan[];
  /** The variables panel: the declared variables the snippets use, shown before `before`. */
  panel: { before: number; variables: Record<string, VariableSpec> } | null;
}

export interface SnippetProblemAt {
  line: number | undefined;
  message: string;
}

/** Every problem in a chapter's snippets, reported at once so an author fixes them in one go. */
export class SnippetError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly problems: readonly SnippetProblemAt[];

  constructor(file: string, problems: readonly SnippetProblemAt[]) {
    const lines = problems.map(
      (p) => `${file}${p.line === undefined ? '' : `:${p.line}`}: ${p.message}`,
    );
    super(
      problems.length === 1
        ? lines[0]
        : `${problems.length} problems in snippets:\n${lines.join('\n')}`,
    );
    this.name = 'SnippetError';
    this.file = file;
    this.line = problems[0]?.line;
    this.column = problems[0]?.line === undefined ? undefined : 1;
    this.problems = problems;
  }
}

/** `content/guide/pods.mdx` → `pods`. */
export function chapterSlug(path: string): string {
  const base = path.split(/[\\/]/).at(-1) ?? path;
  return base.replace(/\.[^.]*$/, '');
}

export function isShellBlock(block: Pick<CodeBlock, 'lang' | 'fenced'>): boolean {
  const lang = block.lang?.toLowerCase() ?? '';
  return block.fenced && (lang === '' || SHELL_LANGS.has(lang));
}

/**
 * Decides, for each block of a chapter, whether it runs and how. Throws a SnippetError listing
 * every problem (bad fence options, undeclared placeholders, unclosed heredocs, duplicate ids).
 */
export function planChapter(
  blocks: readonly CodeBlock[],
  source: ChapterSource,
  taskSources: readonly TaskSource[] = [],
): ChapterPlan {
  const problems: SnippetProblemAt[] = [];
  const declaredVariables = readChapterVariables(source.frontmatter);
  if (!declaredVariables.ok) {
    problems.push(...declaredVariables.errors.map((message) => ({ line: 1, message })));
  }
  const declared = declaredVariables.ok ? declaredVariables.variables : {};
  const declaredNames = new Set(Object.keys(declared));
  const idLines = new Map<string, number | undefined>();
  const used = new Set<string>();
  const taskIds = taskSources.map((t) => (typeof t.id === 'string' ? t.id : undefined));
  const taskParts: { check?: Snippet; solution?: Snippet }[] = [];
  let panelBefore: number | undefined;
  let runnable = 0;

  const plans = blocks.map((block, index): BlockPlan => {
    if (!isShellBlock(block)) return { action: 'keep' };
    const display = withoutNorun(block.meta);
    if (display.norun) return { action: 'display', meta: display.rest };

    const report = (message: string, lineInBlock = 0): void => {
      problems.push({
        line: block.line === undefined ? undefined : block.line + lineInBlock,
        message,
      });
    };
    const meta = parseFenceMeta(block.meta);
    if (!meta.ok) report(meta.error);
    const parsed = parseSnippet(block.value);
    if (parsed.commands.length === 0) return { action: 'keep' };
    for (const problem of parsed.problems) report(problem.message, problem.line);

    const variables: string[] = [];
    for (const line of parsed.lines) {
      if (line.command === undefined) continue;
      for (const token of undeclaredPlaceholderLike(line.text, declaredNames)) {
        report(undeclaredMessage(token, declaredNames), line.line);
      }
      for (const name of findPlaceholders(line.text, declaredNames)) {
        if (!variables.includes(name)) variables.push(name);
      }
    }
    // `open=` may name the block's placeholders too (the Pod it just made).
    const open = meta.ok ? (meta.meta.open ?? '') : '';
    for (const token of undeclaredPlaceholderLike(open, declaredNames)) {
      report(undeclaredMessage(token, declaredNames));
    }
    for (const name of findPlaceholders(open, declaredNames)) {
      if (!variables.includes(name)) variables.push(name);
    }
    // Counted even when its options are wrong, so fixing them does not renumber later ids.
    if (!meta.ok) {
      runnable++;
      return { action: 'keep' };
    }

    const role = meta.meta.role;
    const task = block.task === undefined ? undefined : taskIds[block.task];
    if (role !== undefined && block.task === undefined) {
      report(
        `a \`${role}\` block belongs inside a <Task id="…" title="…">: move it there, or remove ${role}`,
      );
      return { action: 'keep' };
    }
    if (meta.meta.cleanup && block.task !== undefined) {
      report(
        'a task holds no `cleanup` block: put the clean-up after the task, as a step of its own',
      );
    }
    // Task blocks do not count, so adding a task never renumbers the steps after it.
    if (role === undefined) runnable++;
    const id = meta.meta.id ?? (role ? `${task ?? 'task'}-${role}` : `${source.slug}-${runnable}`);
    if (idLines.has(id)) {
      const other = idLines.get(id);
      report(
        `snippet id "${id}" is already used${other === undefined ? '' : ` at line ${other}`}: give one of them a different id=…`,
      );
    }
    idLines.set(id, block.line);
    if (variables.length > 0) panelBefore ??= index;
    for (const name of variables) used.add(name);

    const snippet: Snippet = {
      id,
      commands: parsed.commands,
      meta: meta.meta,
      line: block.line,
      parsed,
      variables,
      ...(task !== undefined && role !== undefined ? { task } : {}),
    };
    if (role !== undefined && block.task !== undefined) {
      const parts = taskParts[block.task] ?? {};
      taskParts[block.task] = parts;
      if (parts[role]) report(`this task already has a \`${role}\` block: keep one`);
      parts[role] = snippet;
    }
    return role === 'check' ? { action: 'check', snippet } : { action: 'run', snippet };
  });

  const tasks = planTasks(taskSources, taskIds, taskParts, problems);

  if (problems.length > 0) throw new SnippetError(source.file, problems);
  const panelVariables = Object.fromEntries(
    Object.entries(declared).filter(([name]) => used.has(name)),
  );
  return {
    declared,
    blocks: plans,
    tasks,
    panel: panelBefore === undefined ? null : { before: panelBefore, variables: panelVariables },
  };
}

function undeclaredMessage(token: string, declared: ReadonlySet<string>): string {
  const name = token.slice(1, -1);
  const what = `\`${token}\` looks like a placeholder, but the chapter declares no variable \`${name}\``;
  const fix = /-/.test(name)
    ? ` (variable names use \`_\`, not \`-\`: \`<${name.replaceAll('-', '_')}>\`)`
    : '';
  const known =
    declared.size === 0
      ? 'this chapter declares no variables'
      : `declared: ${[...declared].join(', ')}`;
  return `${what}${fix}; ${known}. Declare it under \`variables:\` in the frontmatter, or write it differently if it is not a placeholder.`;
}

const TASK_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Each task with its check and solution; a task missing either is reported at its line. */
function planTasks(
  sources: readonly TaskSource[],
  ids: readonly (string | undefined)[],
  parts: readonly { check?: Snippet; solution?: Snippet }[],
  problems: SnippetProblemAt[],
): TaskPlan[] {
  const plans: TaskPlan[] = [];
  const seen = new Map<string, number | undefined>();
  sources.forEach((source, index) => {
    const line = source.line;
    const report = (message: string): void => {
      problems.push({ line, message });
    };
    const id = ids[index];
    const name = id === undefined ? '<Task>' : `task "${id}"`;
    if (source.nested) report(`${name} is inside another <Task>: tasks do not nest`);
    if (id === undefined || !TASK_ID.test(id)) {
      report(
        `${name} needs an id="…" of lowercase letters, digits and single dashes, as in <Task id="scale-to-five" title="…">`,
      );
    } else if (seen.has(id)) {
      const other = seen.get(id);
      report(
        `task id "${id}" is already used${other === undefined ? '' : ` at line ${other}`}: give one of them a different id`,
      );
    }
    if (id !== undefined) seen.set(id, line);
    const title = source.title;
    if (typeof title !== 'string' || title.trim() === '') {
      report(`${name} needs a title="…", the goal in a few words`);
    }
    let solutionAfter = DEFAULT_SOLUTION_AFTER;
    if (source.solutionAfter !== undefined) {
      const n = /^\d{1,2}$/.test(source.solutionAfter ?? '') ? Number(source.solutionAfter) : 0;
      if (n < 1)
        report(
          `${name}: solutionAfter="${source.solutionAfter}" must be a whole number from 1 to 99`,
        );
      else solutionAfter = n;
    }
    const { check, solution } = parts[index] ?? {};
    if (!check) {
      report(
        `${name} has no check: add a \`\`\`sh check block that exits 0 when the task is done and otherwise prints why and exits 1`,
      );
    }
    if (!solution) {
      report(
        `${name} has no solution: add a \`\`\`console solution block with the commands that do it`,
      );
    }
    if (source.hints === 0) report(`${name} has no hint: add at least one <Hint>…</Hint>`);
    if (check && solution && id !== undefined && typeof title === 'string') {
      plans.push({ id, title, line, hints: source.hints, solutionAfter, check, solution });
    }
  });
  return plans;
}
