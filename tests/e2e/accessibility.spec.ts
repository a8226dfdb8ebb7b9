/**
 * axe-core on every page of the guide, with the terminal open and closed, in both themes:
 * no violations. The dock is scanned with its terminal connected, as a reader sees it.
 */
import { createRequire } from 'node:module';
import { expect, test } from '@playwright/test';
import { guidePages, openPage } from './reader-pages.ts';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
// The page's Content-Security-Policy allows only its own scripts; axe is injected.
test.use({ bypassCSP: true });

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

for (const theme of ['light', 'dark'] as const) {
  for (const dock of [false, true]) {
    test(`axe: every page, ${theme} theme, terminal ${dock ? 'open' : 'closed'}`, async ({
      page,
    }) => {
      test.setTimeout(180_000);
      await page.setViewportSize({ width: 1280, height: 800 });
      const found: string[] = [];
      for (const path of guidePages) {
        await openPage(page, path, { dock, theme });
        if (dock)
          await expect(page.locator('kn-terminal-dock .kn-dock-status')).toContainText('Connected');
        // Expressive Code makes a code block that scrolls sideways focusable once it has
        // measured it, a moment after load: scan what the reader gets, not that moment.
        await page.waitForFunction(() =>
          [...document.querySelectorAll('.expressive-code pre')].every(
            (pre) => pre.scrollWidth <= pre.clientWidth || pre.hasAttribute('tabindex'),
          ),
        );
        await page.addScriptTag({ path: axePath });
        const violations = await page.evaluate(async () => {
          const axe = (window as unknown as { axe: { run(): Promise<{ violations: unknown }> } })
            .axe;
          return (await axe.run()).violations as AxeViolation[];
        });
        for (const v of violations) {
          for (const node of v.nodes) {
            found.push(`${path}: ${v.id} (${v.help}) at ${node.target.join(' ')}`);
          }
        }
      }
      expect(found).toEqual([]);
    });
  }
}
