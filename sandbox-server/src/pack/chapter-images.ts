/**
 * Every image the guide's chapters use, read from their sources the way the site and the
 * doc-tests read them (collectSnippets), with each placeholder set to its default. YAML blocks
 * (```yaml) count too: a reader may apply them. Pure: the caller reads the files.
 */
import type { Code } from 'mdast';
import { mdxToMdast } from 'satteri';
import { collectSnippets } from '../../../src/snippets/extract.ts';
import { findCodeNodes } from '../../../src/snippets/mdast-blocks.ts';
import { fillPlaceholders, placeholderMatches } from '../../../src/snippets/placeholders.ts';
import { type ImagePlace, imagesInCommand, imagesInYaml } from './image-refs.ts';

export interface ChapterSource {
  /** path for messages, e.g. content/pods.mdx */
  file: string;
  /** the file name without extension */
  slug: string;
  text: string;
}

export interface ImageUser {
  chapter: string;
  file: string;
  /** the snippet's id (as in the page and the doc-tests), or `yaml@LINE` for a YAML block */
  snippet: string;
  line: number;
}

export interface NeededImage {
  /** as the chapter writes it (placeholders filled in) */
  image: string;
  /** cluster: a Pod runs it (the kind nodes need it); docker: `docker build` needs it */
  where: ImagePlace[];
  usedBy: ImageUser[];
}

export interface ChapterImages {
  images: NeededImage[];
  /** images the chapters make themselves (docker build -t, docker tag): not packed */
  built: { image: string; usedBy: ImageUser[] }[];
  /** images the chapters name so that a pull fails, on purpose: there is nothing to pack */
  unpullable: { image: string; usedBy: ImageUser[] }[];
}

/**
 * How a chapter names an image that must not exist (to show ErrImagePull): the test cluster's
 * kwok Stage (tests/cluster/kwok-stages.yaml) fails pulls of these names too.
 */
export const UNPULLABLE_IMAGE = /does-not-exist/;

export function chapterImages(chapters: readonly ChapterSource[]): ChapterImages {
  const needed = new Map<string, NeededImage>();
  const built = new Map<string, { image: string; usedBy: ImageUser[] }>();
  const use = (image: string, where: ImagePlace, user: ImageUser) => {
    const entry = needed.get(image) ?? { image, where: [], usedBy: [] };
    if (!entry.where.includes(where)) entry.where.push(where);
    if (!entry.usedBy.some((u) => u.snippet === user.snippet && u.chapter === user.chapter)) {
      entry.usedBy.push(user);
    }
    needed.set(image, entry);
  };

  for (const chapter of chapters) {
    const collected = collectSnippets(chapter.text, chapter.slug, { file: chapter.file });
    for (const snippet of collected.snippets) {
      const user = {
        chapter: chapter.slug,
        file: chapter.file,
        snippet: snippet.id,
        line: snippet.line,
      };
      for (const command of snippet.commands) {
        const filled = fillPlaceholders(command, {}, collected.variables);
        if (!filled.ok) {
          throw new Error(
            `${chapter.file}:${snippet.line}: ${filled.errors.map((e) => e.message).join(' ')}`,
          );
        }
        const found = imagesInCommand(filled.text);
        for (const image of found.builds) {
          const entry = built.get(image) ?? { image, usedBy: [] };
          if (!entry.usedBy.some((u) => u.snippet === user.snippet)) entry.usedBy.push(user);
          built.set(image, entry);
        }
        for (const { image, where } of found.uses) use(image, where, user);
      }
    }
    // YAML blocks: placeholders replaced by their defaults as they are (no shell quoting).
    const tree = mdxToMdast(chapter.text, { features: { directive: true } }) as Parameters<
      typeof findCodeNodes
    >[0];
    const declared = new Set(Object.keys(collected.variables));
    for (const { node } of findCodeNodes<Code>(tree)) {
      const lang = node.lang?.toLowerCase();
      if (lang !== 'yaml' && lang !== 'yml') continue;
      let text = '';
      let from = 0;
      for (const match of placeholderMatches(node.value, declared)) {
        text += node.value.slice(from, match.start) + collected.variables[match.name]!.default;
        from = match.end;
      }
      text += node.value.slice(from);
      const line = node.position?.start.line ?? 0;
      for (const { image, where } of imagesInYaml(text)) {
        use(image, where, {
          chapter: chapter.slug,
          file: chapter.file,
          snippet: `yaml@${line}`,
          line,
        });
      }
    }
  }
  // An image a chapter builds itself is not fetched from anywhere, even where it is run.
  for (const image of built.keys()) needed.delete(image);
  const unpullable = [...needed.values()].filter((n) => UNPULLABLE_IMAGE.test(n.image));
  for (const { image } of unpullable) needed.delete(image);
  const byName = (a: { image: string }, b: { image: string }) => a.image.localeCompare(b.image);
  return {
    images: [...needed.values()].sort(byName),
    built: [...built.values()].sort(byName),
    unpullable: unpullable.map(({ image, usedBy }) => ({ image, usedBy })).sort(byName),
  };
}
