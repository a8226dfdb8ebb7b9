/**
 * The dock's bar on a phone: one row, the less used buttons behind "More" (dock-more.ts),
 * reached and left by keyboard, axe-clean open in both themes; on a laptop no "More", every
 * button in the bar.
 */
import { createRequire } from 'node:module';
import { expect, type Page, test } from '@playwright/test';
import { openPage, screenshot, sticksOut } from './reader-pages.ts';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
test.use({ bypassCSP: true });

const dock = (page: Page) => page.locator('kn-terminal-dock');
const more = (page: Page) => dock(page).getByRole('button', { name: 'More' });
const button = (page: Page, name: string) => dock(page).getByRole('button', { name });
const fontSize = (page: Page) =>
  page.evaluate(() => JSON.parse(localStorage.getItem('kubenotes:dock') ?? '{}').fontSize);

for (const theme of ['light', 'dark'] as const) {
  test(`at 390 px (${theme}) the bar is one row of buttons; the rest are behind More, by keyboard`, async ({
    page,
  }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await openPage(page, '/pods/', { dock: true, theme });
    const actions = dock(page).locator('.kn-dock-actions');
    // One row: every shown button's top within a few pixels of the first's.
    const tops = await actions
      .locator('button:visible')
      .evaluateAll((all) => all.map((b) => Math.round(b.getBoundingClientRect().top)));
    expect(tops.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...tops) - Math.min(...tops)).toBeLessThanOrEqual(4);
    await expect(button(page, 'New session')).toBeHidden();
    await expect(more(page)).toHaveAttribute('aria-expanded', 'false');

    // Keyboard: to More, open it, through its buttons.
    await more(page).focus();
    await page.keyboard.press('Enter');
    await expect(more(page)).toHaveAttribute('aria-expanded', 'true');
    for (const name of [
      'Smaller terminal text',
      'Larger terminal text',
      'Screen reader',
      'New session',
    ]) {
      await expect(button(page, name)).toBeVisible();
      const box = await button(page, name).boundingBox();
      expect(box?.x ?? -1, `${name} inside the window`).toBeGreaterThanOrEqual(0);
      expect((box?.x ?? 0) + (box?.width ?? 0), `${name} inside the window`).toBeLessThanOrEqual(
        390,
      );
    }
    expect(await sticksOut(page)).toEqual([]);
    await page.keyboard.press('Tab');
    await expect(button(page, 'Smaller terminal text')).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(button(page, 'Larger terminal text')).toBeFocused();
    // A+ twice: the panel stays open for the second press, and the text grows by two.
    const before = (await fontSize(page)) ?? 14;
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    await expect(more(page)).toHaveAttribute('aria-expanded', 'true');
    expect(await fontSize(page)).toBe(before + 2);
    await screenshot(page, `dock-more-390-${theme}`);

    await page.addScriptTag({ path: axePath });
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: {
            run(
              ctx: unknown,
            ): Promise<{ violations: { id: string; nodes: { target: unknown }[] }[] }>;
          };
        }
      ).axe;
      return (await axe.run('kn-terminal-dock')).violations.map(
        (v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`,
      );
    });
    expect(violations).toEqual([]);

    // Escape closes it and gives focus back to More.
    await page.keyboard.press('Escape');
    await expect(more(page)).toHaveAttribute('aria-expanded', 'false');
    await expect(more(page)).toBeFocused();
    await expect(button(page, 'Larger terminal text')).toBeHidden();

    // An action that is done once (Screen reader) closes it; focus is on More, not lost.
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await expect(button(page, 'Screen reader')).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(more(page)).toHaveAttribute('aria-expanded', 'false');
    await expect(more(page)).toBeFocused();
    await expect(dock(page).locator('[data-action="screen-reader"]')).toHaveAttribute(
      'aria-pressed',
      'true',
    );

    // Tab past the last button leaves it closed behind.
    await page.keyboard.press('Enter');
    for (let i = 0; i < 4; i++) await page.keyboard.press('Tab');
    await expect(button(page, 'New session')).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(more(page)).toHaveAttribute('aria-expanded', 'false');
  });
}

test('at 390 px, More opens with a click while the reader is typing in the terminal', async ({
  page,
}) => {
  // Leaving the terminal hides the "Esc then Tab" hint on a narrow window; when the hint sat
  // before the buttons, More moved between press and release and the click was lost.
  await page.setViewportSize({ width: 390, height: 844 });
  await openPage(page, '/pods/', { dock: true });
  await page.getByRole('textbox', { name: 'Terminal input' }).focus();
  await expect(dock(page).locator('.kn-dock-hint')).toBeVisible();
  await more(page).click();
  await expect(more(page)).toHaveAttribute('aria-expanded', 'true');
  await button(page, 'New session').click();
  await expect(more(page)).toHaveAttribute('aria-expanded', 'false');
});

for (const theme of ['light', 'dark'] as const) {
  test(`at 1280 px (${theme}) there is no More: every button is in the bar`, async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await openPage(page, '/pods/', { dock: true, theme });
    await expect(more(page)).toBeHidden();
    for (const name of [
      'Cluster',
      'Smaller terminal text',
      'Larger terminal text',
      'Screen reader',
      'New session',
      'Hide',
    ]) {
      await expect(button(page, name)).toBeVisible();
    }
    await screenshot(page, `dock-more-1280-${theme}`);
    // The same buttons still work from the bar.
    const before = (await fontSize(page)) ?? 14;
    await button(page, 'Larger terminal text').click();
    expect(await fontSize(page)).toBe(before + 1);
  });
}
