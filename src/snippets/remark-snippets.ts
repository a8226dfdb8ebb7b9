import type { Code, Parent, Root, RootContent } from 'mdast';
import type { Transformer } from 'unified';
import { chapterSlug, planChapter } from './chapter.ts';
import { findCodeNodes, type MarkupNode, markupNode, toCodeBlock } from './mdast-blocks.ts';
import { snippetElement, variablesPanelElement } from './render.ts';

/**
 * Turns a chapter's shell blocks into runnable snippets (see render.ts for the markup), for a
 * unified/remark pipeline. Astro 7 renders Markdown with Sätteri by default; satteri-snippets.ts
 * is the same transform for that pipeline. Both share chapter.ts, so they agree on every rule.
 *
 * Variables come from the frontmatter, which Astro puts at `file.data.astro.frontmatter`.
 * Problems (bad fence options, undeclared placeholders, unclosed heredocs) throw a SnippetError
 * naming the file and line, which fails the build.
 */

export interface RemarkSnippetsOptions {
  /** Frontmatter to use when the pipeline does not provide `file.data.astro.frontmatter`. */
  frontmatter?: unknown;
}

interface AstroFileData {
  astro?: { frontmatter?: unknown };
}

export function remarkSnippets(options: RemarkSnippetsOptions = {}): Transformer<Root> {
  return (tree, file) => {
    const path = file.path || 'chapter.md';
    const source = typeof file.value === 'string' ? file.value : undefined;
    const frontmatter = (file.data as AstroFileData).astro?.frontmatter ?? options.frontmatter;
    const found = findCodeNodes<Code>(tree);
    const plan = planChapter(
      found.map(({ node }) => toCodeBlock(node, source)),
      { file: path, slug: chapterSlug(path), frontmatter },
    );
    const declared = new Set(Object.keys(plan.declared));

    // Back to front, so that replacing or inserting never shifts a node still to be handled.
    for (let i = found.length - 1; i >= 0; i--) {
      const { node, index } = found[i]!;
      const parent = found[i]!.parent as Parent;
      const block = plan.blocks[i]!;
      if (block.action === 'display') node.meta = block.meta;
      if (block.action === 'run') {
        parent.children[index] = asContent(
          markupNode(snippetElement(block.snippet, declared, plan.declared)),
        );
      }
      if (plan.panel?.before === i) {
        const panel = markupNode(variablesPanelElement(plan.panel.variables));
        parent.children.splice(index, 0, asContent(panel));
      }
    }
  };
}

/** Our markup node is not one of mdast's own types; mdast-util-to-hast handles it all the same. */
function asContent(node: MarkupNode): RootContent {
  return node as unknown as RootContent;
}

export default remarkSnippets;
