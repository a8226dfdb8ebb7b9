import type { Code } from 'mdast';
import { markdownToMdast, mdxToMdast } from 'satteri';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { planChapter, SnippetError } from './chapter.ts';
import { findCodeNodes, toCodeBlock } from './mdast-blocks.ts';
import type { SnippetMeta } from './meta.ts';
import { checkScript, findTasks, type TreeNode, taskOf } from './tasks.ts';
import type { VariableSpec } from './variables.ts';

/**
 * Reads a chapter's source and returns its runnable snippets, with the same ids, commands and
 * checks as the site (chapter.ts), for the doc-tests and the image-pack command. Runs in plain
 * Node: Sätteri (the parser Astro 7 renders with) for the body, `yaml` for the frontmatter.
 */

export interface CollectedSnippet {
  id: string;
  /** Each command's text, placeholders left as `<name>`. */
  commands: string[];
  meta: SnippetMeta;
  /** 1-based line of the opening fence in the file. */
  line: number;
  /** Variables the commands use, in order of first use. */
  variables: string[];
  /** The task whose solution this is (meta.role says so too). */
  task?: string;
}

export interface CollectedTask {
  id: string;
  title: string;
  /** 1-based line of `<Task` in the file. */
  line: number;
  hints: number;
  solutionAfter: number;
  /** The check's script, placeholders left as `<name>`, and the variables it uses. */
  check: { script: string; variables: string[]; line: number };
  /** The solution's snippet id (it is among the chapter's snippets too). */
  solution: string;
}

export interface CollectedChapter {
  frontmatter: Record<string, unknown>;
  /** The chapter's declared variables, defaults filled in. */
  variables: Record<string, VariableSpec>;
  snippets: CollectedSnippet[];
  tasks: CollectedTask[];
}

export interface CollectOptions {
  /** The chapter's path, for error messages. Default `<chapterSlug>.mdx`. */
  file?: string;
  /** Default: from `file`'s extension, else MDX. */
  format?: 'md' | 'mdx';
}

/** Throws a SnippetError (file, line, what to fix) for any problem the site build would reject. */
export function collectSnippets(
  markdown: string,
  chapterSlug: string,
  options: CollectOptions = {},
): CollectedChapter {
  const file = options.file ?? `${chapterSlug}.mdx`;
  const format = options.format ?? (/\.md$/i.test(file) ? 'md' : 'mdx');
  const parse = format === 'md' ? markdownToMdast : mdxToMdast;
  // Starlight turns on directives (`:::note`); parse the way the site does.
  const tree = parse(markdown, { features: { directive: true } }) as Parameters<
    typeof findCodeNodes
  >[0];
  const frontmatter = readFrontmatter(tree, file);
  const found = findCodeNodes<Code>(tree);
  const taskSources = findTasks(tree as unknown as TreeNode);
  const plan = planChapter(
    found.map(({ node }) => ({
      ...toCodeBlock(node, markdown),
      task: taskOf(node as unknown as TreeNode, taskSources),
    })),
    { file, slug: chapterSlug, frontmatter },
    taskSources,
  );

  const snippets: CollectedSnippet[] = [];
  for (const block of plan.blocks) {
    if (block.action !== 'run') continue;
    const { id, commands, meta, line, variables, task } = block.snippet;
    snippets.push({
      id,
      commands,
      meta,
      line: line ?? 0,
      variables,
      ...(task === undefined ? {} : { task }),
    });
  }
  const tasks = plan.tasks.map(
    (task): CollectedTask => ({
      id: task.id,
      title: task.title,
      line: task.line ?? 0,
      hints: task.hints,
      solutionAfter: task.solutionAfter,
      check: {
        script: checkScript(task.check),
        variables: task.check.variables,
        line: task.check.line ?? 0,
      },
      solution: task.solution.id,
    }),
  );
  return { frontmatter, variables: plan.declared, snippets, tasks };
}

function readFrontmatter(
  tree: { children?: readonly { type: string; value?: unknown }[] },
  file: string,
): Record<string, unknown> {
  const node = tree.children?.[0];
  if (node?.type !== 'yaml' || typeof node.value !== 'string') return {};
  try {
    const value: unknown = parseYaml(node.value);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch (error) {
    // yaml counts lines from the start of the frontmatter, after the opening `---`.
    const line = error instanceof YAMLParseError ? (error.linePos?.[0].line ?? 0) + 1 : 1;
    const full = error instanceof Error ? error.message : String(error);
    const message = full.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new SnippetError(file, [{ line, message: `frontmatter is not valid YAML: ${message}` }]);
  }
}
