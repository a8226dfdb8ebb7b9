/**
 * The guide with a keyboard only: reach a Run button, run it, go into the terminal, where Tab
 * is the shell's, and get out again with Escape then Tab to reach the next block.
 */
import { expect, type Page, test } from '@playwright/test';
import { openPage } from './reader-pages.ts';

/** Presses Tab (or Shift+Tab) until `matches` holds for the focused element. */
async function tabUntil(
  page: Page,
  matches: (el: { label: string; inTerminal: boolean }) => boolean,
  key = 'Tab',
  limit = 400,
): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press(key);
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      return {
        label: el?.getAttribute('aria-label') ?? el?.textContent ?? '',
        inTerminal: !!el?.closest('.xterm'),
      };
    });
    if (matches(focused)) return;
  }
  throw new Error('never reached');
}

test('keyboard only: run a block, type in the terminal, leave it, reach the next block', async ({
  page,
}) => {
  // A keyboard reader tabs through the whole chapter to reach the dock: many key presses.
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await openPage(page, '/pods/');
  const blocks = page.locator('kn-snippet');
  const firstLabel = (await blocks.nth(0).locator('.kn-run').getAttribute('aria-label')) ?? '';
  const nextLabel = (await blocks.nth(1).locator('.kn-run').getAttribute('aria-label')) ?? '';
  await tabUntil(page, (el) => el.label === firstLabel);
  await page.keyboard.press('Enter');
  await expect(blocks.nth(0)).not.toHaveAttribute('data-state', 'idle');
  await expect(blocks.nth(0)).not.toHaveAttribute('data-state', 'running', { timeout: 30_000 });

  // Into the terminal, the keyboard way: on through the page to the dock.
  await tabUntil(page, (el) => el.inTerminal);
  const input = page.getByRole('textbox', { name: 'Terminal input' });
  await expect(input).toBeFocused();
  // Its description tells the way out.
  await expect(input).toHaveAccessibleDescription(/Esc.*then.*Tab/);
  await expect(page.locator('kn-terminal-dock .kn-dock-hint')).toBeVisible();
  // Tab is the shell's: it completes, and focus stays.
  await page.keyboard.type('ech');
  await page.keyboard.press('Tab');
  await expect(input).toBeFocused();
  await page.keyboard.type(' way-out-$((6*7))');
  await page.keyboard.press('Enter');
  await expect(page.locator('kn-terminal-dock .xterm-rows')).toContainText('way-out-42');

  // Escape, then Tab: back on the page, where the reader was.
  await page.keyboard.press('Escape');
  await page.keyboard.press('Tab');
  await expect(input).not.toBeFocused();
  await expect(blocks.nth(0).locator('.kn-run')).toBeFocused();
  await tabUntil(page, (el) => el.label === nextLabel, 'Tab', 10);

  // The Escape that led out never reached the shell: the next thing typed is plain text.
  await tabUntil(page, (el) => el.inTerminal);
  await page.keyboard.type('echo after-$((1+1))');
  await page.keyboard.press('Enter');
  await expect(page.locator('kn-terminal-dock .xterm-rows')).toContainText('after-2');
});

test('keyboard only: Escape, then Shift+Tab reaches the dock controls', async ({ page }) => {
  await openPage(page, '/pods/', { dock: true });
  const input = page.getByRole('textbox', { name: 'Terminal input' });
  await input.focus();
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Tab');
  await expect(input).not.toBeFocused();
  expect(await page.evaluate(() => !!document.activeElement?.closest('kn-terminal-dock'))).toBe(
    true,
  );
});
