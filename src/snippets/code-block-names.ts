/**
 * An Expressive Code plugin. Expressive Code's script makes a code block that scrolls sideways
 * a focusable region (so the keyboard can scroll it); a page with two such regions, unnamed,
 * gives a screen reader two landmarks it cannot tell apart. Each block's <pre> gets a name of
 * its own: its title, or else its first line. A `title` attribute, because the region role
 * comes and goes with the scrolling, and a name on a plain <pre> would be refused.
 */
import type { Element, ElementContent } from 'hast';

interface Block {
  props: { title?: string };
  getLines(): { text: string }[];
}

export function codeBlockNames() {
  return {
    name: 'kubenotes-code-block-names',
    hooks: {
      postprocessRenderedBlock(context: {
        codeBlock: Block;
        renderData: { blockAst: Element };
      }): void {
        const pre = findPre(context.renderData.blockAst);
        if (!pre) return;
        const { codeBlock } = context;
        const first = codeBlock.getLines()[0]?.text.trim() ?? '';
        pre.properties.title = codeBlock.props.title ?? `Code: ${first.slice(0, 80)}`;
      },
    },
  };
}

function findPre(node: Element): Element | undefined {
  if (node.tagName === 'pre') return node;
  for (const child of node.children as ElementContent[]) {
    if (child.type !== 'element') continue;
    const found = findPre(child);
    if (found) return found;
  }
  return undefined;
}
