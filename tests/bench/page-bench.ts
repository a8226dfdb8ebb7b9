import { gzipSync } from 'node:zlib';
import { chromium } from '@playwright/test';
import { startServerProcess } from '../support/server-process.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface PageFigures {
  scripts: { url: string; gzipBytes: number }[];
  inlineGzipBytes: number;
  totalGzipBytes: number;
  firstRunGzipBytes: number;
  lighthouse?: { performance: number; accessibility: number } | string;
}

export async function measurePage(path = '/pods/'): Promise<PageFigures> {
  const server = await startServerProcess(['--cluster', 'none'], {
    command: 'serve',
    timeoutMs: 180_000,
  });
  const { url } = server;
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    const page = await browser.newPage();
    const scripts = new Map<string, number>();
    let counting = true;
    let afterRun = 0;
    page.on('response', async (response) => {
      const type = response.request().resourceType();
      if (type !== 'script') return;
      const body = await response.body().catch(() => Buffer.alloc(0));
      const size = gzipSync(body).length;
      if (counting) scripts.set(response.url(), size);
      else afterRun += size;
    });
    await page.goto(url + path, { waitUntil: 'networkidle' });
    // Idle-time prefetches and lazy loads that happen without any click.
    await page.waitForTimeout(3000);
    const inline = await page.$$eval('script:not([src])', (els) =>
      els.filter((e) => !/json/.test(e.getAttribute('type') ?? '')).map((e) => e.textContent ?? ''),
    );
    const inlineGzipBytes = inline.reduce((n, text) => n + gzipSync(text).length, 0);
    counting = false;
    // The first Run loads the terminal: what that costs, for the record.
    await page.locator('kn-snippet .kn-run').first().click();
    await page.waitForTimeout(3000);
    await browser.close();

    const list = [...scripts].map(([u, gzipBytes]) => ({ url: u.replace(url, ''), gzipBytes }));
    const totalGzipBytes = list.reduce((n, s) => n + s.gzipBytes, 0) + inlineGzipBytes;
    return {
      scripts: list,
      inlineGzipBytes,
      totalGzipBytes,
      firstRunGzipBytes: afterRun,
      lighthouse: await lighthouse(url + path),
    };
  } finally {
    await server.stop();
  }
}

async function lighthouse(target: string): Promise<PageFigures['lighthouse']> {
  try {
    const { launch } = await import('chrome-launcher');
    const { default: run } = await import('lighthouse');
    const chrome = await launch({ chromePath: CHROMIUM, chromeFlags: FLAGS });
    try {
      const result = await run(target, {
        port: chrome.port,
        output: 'json',
        logLevel: 'error',
        onlyCategories: ['performance', 'accessibility'],
      });
      const categories = result?.lhr.categories;
      return {
        performance: categories?.performance?.score ?? Number.NaN,
        accessibility: categories?.accessibility?.score ?? Number.NaN,
      };
    } finally {
      chrome.kill();
    }
  } catch (error) {
    return `Lighthouse did not run: ${(error as Error).message}`;
  }
}
