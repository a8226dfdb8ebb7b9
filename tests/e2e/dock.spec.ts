/**
 * The docked terminal as a reader meets it: it never hides the step just run, the page
 * leaves room for it, and it can be resized, by mouse and by keyboard.
 */
import { expect, type Locator, type Page, test } from '@playwright/test';
import { openPage } from './reader-pages.ts';

const dock = (page: Page) => page.locator('kn-terminal-dock');

/** Top edge of the dock: nothing the reader needs may be below it. */
async function dockTop(page: Page): Promise<number> {
  const box = await dock(page).boundingBox();
  return box ? box.y : Number.POSITIVE_INFINITY;
}

/** The box lies between the page's header and the dock's top edge. */
async function expectVisibleAboveDock(page: Page, target: Locator, what: string): Promise<void> {
  const box = await target.boundingBox();
  expect(box, what).not.toBeNull();
  const headerBottom = await page.evaluate(
    () => document.querySelector('header')?.getBoundingClientRect().bottom ?? 0,
  );
  expect(box!.y, `${what}: top under the header`).toBeGreaterThanOrEqual(headerBottom - 1);
  expect(box!.y + box!.height, `${what}: bottom under the dock`).toBeLessThanOrEqual(
    (await dockTop(page)) + 1,
  );
}

for (const [width, height] of [
  [1280, 800],
  [1280, 500],
  [390, 844],
] as const) {
  test(`at ${width}x${height} the step just run and its state stay in sight above the dock`, async ({
    page,
  }) => {
    await page.setViewportSize({ width, height });
    await openPage(page, '/pods/');
    const block = page.locator('kn-snippet').nth(2);
    // The reader scrolled so the block sits at the bottom of the window, where the dock opens.
    await block.evaluate((el) => {
      const box = el.getBoundingClientRect();
      scrollBy(0, box.bottom - innerHeight + 4);
    });
    const run = block.getByRole('button', { name: /^Run:/ });
    await run.focus();
    await page.keyboard.press('Enter');
    await expect(dock(page)).toBeVisible();
    await expect(block).not.toHaveAttribute('data-state', 'idle');
    await expect(block).not.toHaveAttribute('data-state', 'running', { timeout: 30_000 });
    await expectVisibleAboveDock(page, block.locator('.kn-snippet-bar'), 'the block state');
    await expectVisibleAboveDock(page, block.locator('.kn-snippet-code'), 'the command');
    // Keyboard focus is where the reader can see it.
    await expectVisibleAboveDock(page, page.locator(':focus'), 'the focused control');
  });
}

test('with the dock open, the end of the page can be scrolled above it', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openPage(page, '/pods/', { dock: true });
  await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
  await expectVisibleAboveDock(page, page.locator('.pagination-links'), 'the last links');
});

test('at 1280x500 the open dock leaves at least half the window to read', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 500 });
  await openPage(page, '/pods/', { dock: true });
  expect(await dockTop(page)).toBeGreaterThanOrEqual(250);
});

test('the dock is resized by dragging its edge, and the height is remembered', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openPage(page, '/pods/', { dock: true });
  const handle = page.getByRole('separator', { name: /Terminal height/ });
  const before = (await dock(page).boundingBox())!.height;
  const edge = (await handle.boundingBox())!;
  await page.mouse.move(edge.x + 200, edge.y + edge.height / 2);
  await page.mouse.down();
  await page.mouse.move(edge.x + 200, edge.y - 100, { steps: 5 });
  await page.mouse.up();
  const after = (await dock(page).boundingBox())!.height;
  expect(after).toBeGreaterThan(before + 90);
  expect(after).toBeLessThan(before + 110);
  await page.reload();
  await expect(dock(page)).toBeVisible();
  expect(Math.abs((await dock(page).boundingBox())!.height - after)).toBeLessThanOrEqual(1);
  // The terminal fills the new height: its rows reach down to the dock's bottom.
  const screen = (await page.locator('kn-terminal-dock .xterm-screen').boundingBox())!;
  expect(800 - (screen.y + screen.height)).toBeLessThan(40);
});

test('the dock is resized from the keyboard on its edge, within the window', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openPage(page, '/pods/', { dock: true });
  const handle = page.getByRole('separator', { name: /Terminal height/ });
  await handle.focus();
  const before = Number(await handle.getAttribute('aria-valuenow'));
  await page.keyboard.press('ArrowUp');
  await expect(handle).toHaveAttribute('aria-valuenow', String(before + 24));
  await page.keyboard.press('End');
  const tallest = Number(await handle.getAttribute('aria-valuemax'));
  await expect(handle).toHaveAttribute('aria-valuenow', String(tallest));
  // Even at its tallest, the page keeps room to read.
  expect(await dockTop(page)).toBeGreaterThanOrEqual(200);
  await page.keyboard.press('Home');
  await expect(handle).toHaveAttribute('aria-valuenow', '120');
});

for (const path of ['/', '/pods/']) {
  test(`on ${path} the terminal opens without a Run, and again after it was closed`, async ({
    page,
  }) => {
    await openPage(page, path);
    await expect(dock(page)).toBeHidden();
    const open = page.getByRole('button', { name: 'Terminal', exact: true });
    await open.click();
    await expect(dock(page)).toBeVisible();
    const input = page.getByRole('textbox', { name: 'Terminal input' });
    await expect(input).toBeFocused();
    await page.keyboard.type('echo typed-$((2+3))\n');
    await expect(dock(page).locator('.xterm-rows')).toContainText('typed-5');
    await dock(page).getByRole('button', { name: 'Close the terminal' }).click();
    await expect(dock(page)).toBeHidden();
    // Keyboard only, from the top of the page.
    await page.keyboard.press('Home');
    await page.locator('body').focus();
    for (let i = 0; i < 10 && !(await open.evaluate((el) => el === document.activeElement)); i++) {
      await page.keyboard.press('Tab');
    }
    await expect(open).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(input).toBeFocused();
    await expect(dock(page).locator('.xterm-rows')).toContainText('typed-5');
  });
}

test('keys typed while a new terminal is still connecting reach the shell in the order typed', async ({
  page,
}) => {
  // Slowed on purpose, so typing spans every stage of connecting: the session not made yet
  // (its POST held back), then the socket open but not attached (the server's `ready` held
  // back). Keys typed in the first stage once went out after those typed in the second.
  await page.route('**/api/sessions', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 800));
    await route.continue();
  });
  await page.routeWebSocket(/\/api\/sessions\/[^/]+\/terminal$/, (ws) => {
    const server = ws.connectToServer();
    let stage: 'attaching' | 'holding' | 'passing' = 'attaching';
    const held: (string | Buffer)[] = [];
    server.onMessage((message) => {
      if (
        stage === 'attaching' &&
        typeof message === 'string' &&
        message.includes('"type":"ready"')
      ) {
        stage = 'holding';
        setTimeout(() => {
          stage = 'passing';
          for (const m of held.splice(0)) ws.send(m);
        }, 1500);
      }
      if (stage === 'holding') held.push(message);
      else ws.send(message);
    });
  });
  await openPage(page, '/pods/');
  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  await expect(page.getByRole('textbox', { name: 'Terminal input' })).toBeFocused();
  await page.keyboard.type('echo in-order-$((20+22))\n', { delay: 120 });
  const screen = dock(page).locator('.xterm-rows');
  await expect(screen).toContainText('in-order-42', { timeout: 15_000 });
  await expect(screen).toContainText('echo in-order-$((20+22))');
});
