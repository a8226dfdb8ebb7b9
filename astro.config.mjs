// @ts-check
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { satteri } from '@astrojs/markdown-satteri';
import starlight from '@astrojs/starlight';
import { defineConfig } from 'astro/config';
import { satteriSnippets } from './src/snippets/satteri-snippets.ts';
import { writeTaskManifest } from './src/snippets/write-task-manifest.ts';

/** Writes the tasks' checks beside the built site, where the sandbox server reads them. */
const taskManifest = {
  name: 'kubenotes-task-manifest',
  hooks: {
    /** @param {{ dir: URL }} options */
    'astro:build:done': ({ dir }) => {
      writeTaskManifest(fileURLToPath(new URL('./content/', import.meta.url)), fileURLToPath(dir));
    },
  },
};

/** The chapters in reading order, from each chapter's `order` frontmatter. */
function chapters() {
  return readdirSync(new URL('./content/', import.meta.url))
    .filter((file) => /\.mdx?$/.test(file) && !file.startsWith('index.') && !file.startsWith('_'))
    .map((file) => {
      const text = readFileSync(new URL(`./content/${file}`, import.meta.url), 'utf8');
      const order = Number(/^order:\s*(\d+)/m.exec(text)?.[1] ?? 999);
      return { slug: file.replace(/\.mdx?$/, ''), order };
    })
    .sort((a, b) => a.order - b.order || a.slug.localeCompare(b.slug))
    .map(({ slug }) => ({ slug }));
}

// `npm run dev` runs a sandbox beside astro dev; the browser reaches it through this proxy,
// so the page and the sandbox share one origin as they do under `npm start`.
const sandbox = process.env.KUBENOTES_SANDBOX_URL ?? 'http://127.0.0.1:8081';

export default defineConfig({
  site: 'http://127.0.0.1:8080',
  trailingSlash: 'always',
  // Astro 7 renders Markdown with Sätteri; our transform turns shell blocks into runnable
  // snippets (src/snippets). Starlight and Expressive Code add their plugins to the same processor.
  markdown: { processor: satteri({ mdastPlugins: [satteriSnippets()] }) },
  integrations: [
    starlight({
      title: 'kubenotes',
      description: 'A Kubernetes guide where every shell block runs in place.',
      customCss: ['./src/styles/kubenotes.css', './src/styles/tasks.css'],
      components: {
        Footer: './src/components/Footer.astro',
        Search: './src/components/Search.astro',
      },
      sidebar: [{ label: 'Chapters', items: chapters() }],
    }),
    taskManifest,
  ],
  vite: {
    server: {
      proxy: { '/api': { target: sandbox, ws: true, changeOrigin: false } },
    },
  },
});
