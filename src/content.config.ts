import { defineCollection } from 'astro:content';
import { docsSchema } from '@astrojs/starlight/schema';
import { glob } from 'astro/loaders';
import { chapterFields } from './snippets/variables.ts';

// Chapters live in the top-level content/ folder (not Starlight's default src/content/docs),
// so the guide's prose sits apart from the site's code.
export const collections = {
  docs: defineCollection({
    loader: glob({ base: './content', pattern: '**/[^_]*.{md,mdx}' }),
    schema: docsSchema({ extend: chapterFields }),
  }),
};
