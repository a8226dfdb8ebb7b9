import type { Code, Root } from 'mdast';
import type {
  MdastNode,
  MdastPluginDefinition,
  MdastVisitorContext,
  PluginFactoryContext,
} from 'satteri';
import { type ChapterPlan, chapterSlug, planChapter } from './chapter.ts';
import { findCodeNodes, markupNode, toCodeBlock } from './mdast-blocks.ts';
import { snippetElement, variablesPanelElement } from './render.ts';

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

    return {
      name: 'kubenotes-snippets',
      options: { position: true },
      before(root: Readonly<Root>, ctx: MdastVisitorContext): void {
        const found = findCodeNodes<Code>(root);
        found.forEach(({ node }, index) => {
          const offset = node.position?.start.offset;
          if (offset !== undefined) indexByOffset.set(offset, index);
        });
        plan = planChapter(
          found.map(({ node }) => toCodeBlock(node, context.source)),
          { file: path, slug: chapterSlug(path), frontmatter: astroFrontmatter(ctx.data) },
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
        if (block.action === 'run') {
          // A Custom node (see markupNode); Sätteri's visitor result type only names its own.
          return markupNode(snippetElement(block.snippet, declared)) as unknown as MdastNode;
        }
        return;
      },
    } satisfies MdastPluginDefinition;
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
