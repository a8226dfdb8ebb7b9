/**
 * What the reader-facing end-to-end tests share: the guide's pages, read from `content/` so a
 * new chapter is covered without touching a test, and how to open a page with the dock open.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import type { Locator, Page } from '@playwright/test';

/** Every page of the guide: the front page and each chapter. */
export const guidePages: string[] = readdirSync(new URL('../../content/', import.meta.url))
  .filter((file) => /\.mdx?$/.test(file) && !file.startsWith('_'))
  .map((file) => (file.startsWith('index.') ? '/' : `/${file.replace(/\.mdx?$/, '')}/`))
  .sort();

/** A block of the page by its snippet id, and its Run button. */
export const snippet = (page: Page, id: string): Locator =>
  page.locator(`kn-snippet[data-snippet-id="${id}"]`);
export const runButton = (block: Locator): Locator => block.getByRole('button', { name: /^Run:/ });

/** The id of the first block whose commands contain `text`. */
export async function blockWith(page: Page, text: string): Promise<string> {
  const id = await page.evaluate((needle) => {
    for (const el of document.querySelectorAll<HTMLElement>('kn-snippet[data-snippet-id]')) {
      if ((el.dataset.commands ?? '').includes(needle)) return el.dataset.snippetId;
    }
    return undefined;
  }, text);
  if (!id) throw new Error(`no block runs ${text}`);
  return id;
}

/** Opens `path` with the dock as a reader left it: open or closed, and the theme chosen. */
export async function openPage(
  page: Page,
  path: string,
  options: { dock?: boolean; theme?: 'light' | 'dark' } = {},
): Promise<void> {
  await page.addInitScript(
    ({ dock, theme }) => {
      if (dock !== undefined) {
        const state = JSON.parse(localStorage.getItem('kubenotes:dock') ?? '{}');
        localStorage.setItem('kubenotes:dock', JSON.stringify({ ...state, open: dock }));
      }
      if (theme) localStorage.setItem('starlight-theme', theme);
    },
    { dock: options.dock, theme: options.theme },
  );
  await page.goto(path);
  if (options.dock) await page.locator('kn-terminal-dock .xterm-screen').waitFor();
}

/**
 * Whatever sticks out past the right edge of the window and is not inside something that
 * scrolls on its own (a code block may scroll sideways; the page may not). Clipped things
 * count too: a button cut off by the edge is as unreachable as one off-screen.
 */
export function sticksOut(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const found: string[] = [];
    const scrollsOnItsOwn = (el: Element | null): boolean => {
      for (let at = el; at && at !== document.body; at = at.parentElement) {
        const { overflowX } = getComputedStyle(at);
        if (overflowX === 'auto' || overflowX === 'scroll') return true;
      }
      return false;
    };
    for (const el of document.querySelectorAll('body *')) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || box.right <= width + 1) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'contents') continue;
      if (el.closest('[hidden], dialog:not([open]), .sr-only')) continue;
      if (scrollsOnItsOwn(el.parentElement)) continue;
      const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${[...el.classList].map((c) => `.${c}`).join('')}`;
      found.push(`${name} (right edge ${Math.round(box.right)} > ${width})`);
    }
    if (document.documentElement.scrollWidth > width) {
      found.unshift(`the page is ${document.documentElement.scrollWidth} px wide`);
    }
    return found;
  });
}

/**
 * A screenshot for a person to look at, only when asked for: `KUBENOTES_SCREENSHOTS=DIR`
 * (tests/README.md). A test run writes nothing outside its own folders otherwise.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.KUBENOTES_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/${name}.png` });
}
