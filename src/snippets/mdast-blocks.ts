import type { Element } from 'hast';
import type { Code } from 'mdast';
import type { CodeBlock } from './chapter.ts';

/**
 * The small pieces the Sätteri plugin and the extractor share: finding
 * code nodes in an mdast tree, describing them as CodeBlocks, and turning rendered hast back into
 * an mdast node.
 */

interface TreeNode {
  type: string;
  children?: readonly TreeNode[];
}

export interface FoundCode<N> {
  node: N;
  parent: TreeNode;
  index: number;
}

/** Every `code` node, in document order, wherever it is nested (lists, asides, MDX elements). */
export function findCodeNodes<N extends TreeNode = Code>(root: TreeNode): FoundCode<N>[] {
  const found: FoundCode<N>[] = [];
  const walk = (parent: TreeNode): void => {
    parent.children?.forEach((child, index) => {
      if (child.type === 'code') found.push({ node: child as N, parent, index });
      else walk(child);
    });
  };
  walk(root);
  return found;
}

/** A code node as a CodeBlock; `source` (the file's text) tells fenced from indented blocks. */
export function toCodeBlock(node: Readonly<Code>, source: string | undefined): CodeBlock {
  const start = node.position?.start;
  const fenced =
    source === undefined || start?.offset === undefined
      ? true
      : /^[ \t]*(?:```|~~~)/.test(source.slice(start.offset, start.offset + 64));
  return { lang: node.lang, meta: node.meta, value: node.value, line: start?.line, fenced };
}

/** The mdast node type that carries our rendered markup. */
export const MARKUP_NODE = 'snippetMarkup';

export interface MarkupNode {
  type: typeof MARKUP_NODE;
  data: { hName: string; hProperties: Element['properties']; hChildren: Element['children'] };
}

/**
 * An mdast node that becomes exactly `element` in hast: Sätteri (like mdast-util-to-hast)
 * honours `data.hName` / `hProperties` / `hChildren`. It is a node type of its own so no other
 * plugin mistakes it for content: Sätteri drops a `paragraph` carrying hName inside a tight list
 * item (it unwraps the paragraph and loses the element). Unknown types become the hName element.
 */
export function markupNode(element: Element): MarkupNode {
  return {
    type: MARKUP_NODE,
    data: { hName: element.tagName, hProperties: element.properties, hChildren: element.children },
  };
}
