/**
 * The guide on a phone: no page scrolls sideways at 320, 390 or 430 px, with the terminal
 * closed or open, and every control of the dock is on screen.
 */
import { expect, test } from '@playwright/test';
import { guidePages, openPage, sticksOut } from './reader-pages.ts';

for (const width of [320, 390, 430]) {
  test(`at ${width} px no page scrolls sideways, dock closed or open`, async ({ page }) => {
    test.setTimeout(120_000);
    await page.setViewportSize({ width, height: 844 });
    const problems: string[] = [];
    for (const dock of [false, true]) {
      for (const path of guidePages) {
        await openPage(page, path, { dock });
        for (const problem of await sticksOut(page)) {
          problems.push(`${path} (dock ${dock ? 'open' : 'closed'}): ${problem}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
}

for (const width of [320, 390, 430]) {
  test(`at ${width} px the terminal's text and the dock's controls end inside the window`, async ({
    page,
  }) => {
    await page.setViewportSize({ width, height: 844 });
    await openPage(page, '/pods/', { dock: true });
    const screen = await page.locator('kn-terminal-dock .xterm-screen').boundingBox();
    expect(screen).not.toBeNull();
    expect(screen!.x + screen!.width).toBeLessThanOrEqual(width);
    // The dock's bar leaves most of the dock to the terminal itself.
    const dock = await page.locator('kn-terminal-dock').boundingBox();
    const area = await page.locator('kn-terminal-dock .kn-dock-screen:not([hidden])').boundingBox();
    expect(area!.height).toBeGreaterThanOrEqual(dock!.height * 0.6);
    for (const button of await page.locator('kn-terminal-dock button:visible').all()) {
      const box = await button.boundingBox();
      expect(box!.x + box!.width, (await button.textContent()) ?? '').toBeLessThanOrEqual(width);
    }
  });
}
