import type { Code, Root } from 'mdast';
import type {
  MdastNode,
  MdastPluginDefinition,
  MdastVisitorContext,
  MdxJsxFlowElement,
  MdxJsxTextElement,
  PluginFactoryContext,
} from 'satteri';
import { type ChapterPlan, chapterSlug, planChapter } from './chapter.ts';
import { findCodeNodes, markupNode, toCodeBlock } from './mdast-blocks.ts';
import { snippetElement, variablesPanelElement } from './render.ts';
import { checkElement, renderHintNode, renderTaskNode } from './render-task.ts';
import {
  findTasks,
  isHintNode,
  isTaskNode,
  type TaskSource,
  type TreeNode,
  taskOf,
} from './tasks.ts';

/**
 * The snippet transform as a Sätteri mdast plugin: Astro 7's default Markdown/MDX processor
 * (`@astrojs/markdown-satteri`) runs these, not remark plugins. The rules are chapter.ts's, the
 * markup render.ts's.
 *
 *     markdown: { processor: satteri({ mdastPlugins: [satteriSnippets()] }) }
 *
 * Sätteri calls the factory once per document; the plan for the whole chapter is made in
 * `before` (ids and the variables panel depend on every block), then each `code` visit applies
 * its block's part.
 */
export function satteriSnippets() {
  // The visitors' types are spelled out (not just MdastPluginDefinition) so that Sätteri's
  // compile functions see a synchronous plugin and return their result directly.
  return (context: PluginFactoryContext) => {
    const path = context.fileURL ? decodeURIComponent(context.fileURL.pathname) : 'chapter.mdx';
    let plan: ChapterPlan | undefined;
    let declared: ReadonlySet<string> = new Set();
    const indexByOffset = new Map<number, number>();
    let visited = 0;
    let taskSources: TaskSource[] = [];
    let tasksVisited = 0;
    const slug = chapterSlug(path);

    return {
      name: 'kubenotes-snippets',
      options: { position: true },
      before(root: Readonly<Root>, ctx: MdastVisitorContext): void {
        const found = findCodeNodes<Code>(root);
        found.forEach(({ node }, index) => {
          const offset = node.position?.start.offset;
          if (offset !== undefined) indexByOffset.set(offset, index);
        });
        taskSources = findTasks(root as unknown as TreeNode);
        plan = planChapter(
          found.map(({ node }) => ({
            ...toCodeBlock(node, context.source),
            task: taskOf(node as unknown as TreeNode, taskSources),
          })),
          { file: path, slug, frontmatter: astroFrontmatter(ctx.data) },
          taskSources,
        );
        declared = new Set(Object.keys(plan.declared));
      },
      code(node: Readonly<Code>, ctx: MdastVisitorContext): MdastNode | undefined {
        // Visits come in document order; the offset is the sturdier key when positions exist.
        const offset = node.position?.start.offset;
        const index = (offset === undefined ? undefined : indexByOffset.get(offset)) ?? visited;
        visited++;
        const block = plan?.blocks[index];
        if (block === undefined || plan === undefined) return;
        if (plan.panel?.before === index) {
          ctx.insertBefore(node, markupNode(variablesPanelElement(plan.panel.variables)));
        }
        if (block.action === 'display') return { ...node, meta: block.meta };
        if (block.action === 'check') {
          return markupNode(checkElement(block.snippet, declared)) as unknown as MdastNode;
        }
        if (block.action === 'run') {
          // A Custom node (see markupNode); Sätteri's visitor result type only names its own.
          return markupNode(
            snippetElement(block.snippet, declared, plan.declared),
          ) as unknown as MdastNode;
        }
        return;
      },
      mdxJsxFlowElement(node: Readonly<MdxJsxFlowElement>): MdastNode | undefined {
        return renderTask(node as unknown as TreeNode);
      },
      mdxJsxTextElement(node: Readonly<MdxJsxTextElement>): MdastNode | undefined {
        return renderTask(node as unknown as TreeNode);
      },
    } satisfies MdastPluginDefinition;

    function insideTask(node: Readonly<TreeNode>): boolean {
      const at = node.position?.start.offset;
      return (
        at !== undefined &&
        taskSources.some(({ node: task }) => {
          const { start, end } = task.position ?? {};
          return start?.offset !== undefined && end?.offset !== undefined
            ? start.offset < at && at < end.offset
            : false;
        })
      );
    }

    /** `<Task>` → `<kn-task>`, `<Hint>` → `<kn-hint>` (render-task.ts); in document order. */
    function renderTask(node: Readonly<TreeNode>): MdastNode | undefined {
      if (isHintNode(node)) {
        // A hint inside a task is renamed with its task (renderTaskNode); a second rename
        // here would be dropped by Sätteri, with a warning in every build.
        if (insideTask(node)) return undefined;
        const copy = { ...node };
        renderHintNode(copy);
        return copy as unknown as MdastNode;
      }
      if (!isTaskNode(node)) return undefined;
      const index = tasksVisited++;
      // A task refused by the plan has thrown already; the plan lists the others in order.
      const source = taskSources[index];
      const task = plan?.tasks.find((t) => t.line === source?.line && t.id === source?.id);
      if (task === undefined) return undefined;
      const copy = { ...node };
      renderTaskNode(
        copy,
        task,
        slug,
        declared,
        (element) => markupNode(element) as unknown as TreeNode,
      );
      return copy as unknown as MdastNode;
    }
  };
}

/** Astro seeds `data.astro.frontmatter` before any plugin runs. */
function astroFrontmatter(data: Readonly<Record<string, unknown>>): unknown {
  const astro = data.astro;
  return typeof astro === 'object' && astro !== null
    ? (astro as { frontmatter?: unknown }).frontmatter
    : undefined;
}

export default satteriSnippets;
