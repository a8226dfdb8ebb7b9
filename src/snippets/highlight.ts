import type { ElementContent } from 'hast';
import { createHighlighterCoreSync, type HighlighterCore } from 'shiki/core';
import { createJavaScriptRegexEngine } from 'shiki/engine/javascript';
import bash from 'shiki/langs/bash.mjs';
import githubDark from 'shiki/themes/github-dark.mjs';
import githubLight from 'shiki/themes/github-light.mjs';
import { placeholderMatches } from './placeholders.ts';

/**
 * Shell highlighting for snippet commands, as hast, one array of nodes per line.
 *
 * Colours are emitted the way Shiki's `defaultColor: false` does: each token span carries
 * `--shiki-light` / `--shiki-dark` custom properties and the site's CSS picks one per theme.
 * The highlighter is synchronous (JavaScript regex engine, one grammar, two themes), so the
 * Markdown plugins stay synchronous too.
 */

const THEMES = { light: 'github-light', dark: 'github-dark' } as const;

let highlighter: HighlighterCore | undefined;

function getHighlighter(): HighlighterCore {
  highlighter ??= createHighlighterCoreSync({
    themes: [githubLight, githubDark],
    langs: [bash],
    engine: createJavaScriptRegexEngine(),
  });
  return highlighter;
}

export const VARIABLE_TITLE = 'Variable: set it in the Variables panel';

/**
 * Highlights `text` (a whole command, so that heredoc bodies and continuations are coloured in
 * context) and returns its lines. Declared placeholders become `span.kn-var` elements and are
 * never split by highlighting: the grammar sees a same-length identifier in their place
 * (`<pod_name>` → `_pod_name_`), then the placeholder is spliced back over it.
 */
export function highlightShell(text: string, declared: ReadonlySet<string>): ElementContent[][] {
  const placeholders = placeholderMatches(text, declared);
  let masked = text;
  for (const { name, start, end } of placeholders) {
    masked = `${masked.slice(0, start)}_${name}_${masked.slice(end)}`;
  }
  const { tokens, fg } = getHighlighter().codeToTokens(masked, {
    lang: 'bash',
    themes: THEMES,
    defaultColor: false,
  });

  return tokens.map((line) => {
    const nodes: ElementContent[] = [];
    for (const token of line) {
      // Text in the theme's default colour stays unwrapped: it inherits the <pre>'s colour.
      const tokenStyle = styleOf(token.htmlStyle);
      const style = tokenStyle.toLowerCase() === fg?.toLowerCase() ? '' : tokenStyle;
      let at = token.offset;
      const tokenEnd = token.offset + token.content.length;
      while (at < tokenEnd) {
        const inside = placeholders.find((p) => p.start <= at && at < p.end);
        if (inside) {
          if (inside.start === at) nodes.push(variableSpan(inside.name));
          at = Math.min(inside.end, tokenEnd);
          continue;
        }
        const next = placeholders.find((p) => p.start > at && p.start < tokenEnd);
        const stop = next ? next.start : tokenEnd;
        nodes.push(coloured(text.slice(at, stop), style));
        at = stop;
      }
    }
    return nodes;
  });
}

export function variableSpan(name: string): ElementContent {
  return {
    type: 'element',
    tagName: 'span',
    properties: { className: ['kn-var'], dataVar: name, title: VARIABLE_TITLE },
    children: [{ type: 'text', value: `<${name}>` }],
  };
}

function coloured(value: string, style: string): ElementContent {
  if (style === '') return { type: 'text', value };
  return {
    type: 'element',
    tagName: 'span',
    properties: { style },
    children: [{ type: 'text', value }],
  };
}

function styleOf(htmlStyle: Record<string, string> | undefined): string {
  if (htmlStyle === undefined) return '';
  return Object.entries(htmlStyle)
    .map(([property, value]) => `${property}:${value}`)
    .join(';');
}
