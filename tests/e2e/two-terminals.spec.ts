import { createRequire } from 'node:module';
import { expect, type Page, test } from '@playwright/test';
import { JOIN_CODE, WORKSHOP_PORT } from '../../playwright.config.ts';
import { freePort } from '../support/free-port.ts';
import { openPage, screenshot } from './reader-pages.ts';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
test.use({ bypassCSP: true });

const tab = (page: Page, n: number) => page.getByRole('tab', { name: `Terminal ${n}` });
const panel = (page: Page, n: number) => page.locator(`#kn-term-panel-${n}`);
const text = (page: Page, n: number) => panel(page, n).locator('.xterm-rows');

function shot(page: Page, name: string): Promise<void> {
  return screenshot(page, `two-terminals-${name}`);
}

test('port-forward holds Terminal 1 while Terminal 2 curls it; a reload keeps both', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await openPage(page, '/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill(`two-${Date.now().toString(36)}`);
  const port = await freePort();
  await page.getByLabel('local_port', { exact: true }).fill(String(port));
  const forward = page.locator('kn-snippet[data-keep]').first();
  const curl = page.locator('kn-snippet[data-term="2"]').first();
  await expect(curl).toContainText('curl');

  // The chapter up to the forward: the Pod made and running.
  const caughtUp = await forward.evaluate((el) =>
    (el as HTMLElement & { runAbove(): Promise<boolean> }).runAbove(),
  );
  expect(caughtUp).toBe(true);

  await forward.locator('.kn-run').click();
  await expect(forward).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 });
  await expect(tab(page, 1)).toHaveAttribute('aria-selected', 'true');
  await expect(text(page, 1)).toContainText(`Forwarding from 127.0.0.1:${port}`);

  // The curl runs in Terminal 2, which the dock shows, while the forward still runs in 1.
  await curl.locator('.kn-run').click();
  await expect(tab(page, 2)).toHaveAttribute('aria-selected', 'true');
  await expect(panel(page, 2)).toBeVisible();
  await expect(panel(page, 1)).toBeHidden();
  await expect(curl).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 });
  await expect(text(page, 2)).toContainText('Welcome to nginx!');
  await shot(page, 'laptop');

  // Two sessions, each with its own token kept by the page.
  const stored = await page.evaluate(() =>
    Object.keys(localStorage)
      .filter((key) => key.startsWith('kubenotes:session:'))
      .map((key) => JSON.parse(localStorage.getItem(key) ?? '{}').id as string),
  );
  expect(new Set(stored).size).toBe(2);

  await tab(page, 1).click();
  await expect(panel(page, 1)).toBeVisible();
  await expect(text(page, 1)).toContainText(`Handling connection for ${port}`);

  // A reload resumes both, each with its own screen; the tab in view stays in view.
  await page.reload();
  await expect(tab(page, 1)).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('kn-terminal-dock .kn-dock-status')).toContainText('resumed');
  await expect(text(page, 1)).toContainText(`Handling connection for ${port}`);
  await tab(page, 2).click();
  await expect(page.locator('kn-terminal-dock .kn-dock-status')).toContainText('resumed');
  await expect(text(page, 2)).toContainText('Welcome to nginx!');

  // The reader stops the forward in Terminal 1, as the chapter says.
  await tab(page, 1).click();
  await page.locator(`#kn-term-panel-1 .xterm`).click();
  await page.keyboard.press('Control+C');
  await expect(text(page, 1)).toContainText('^C');

  await page.setViewportSize({ width: 390, height: 844 });
  await tab(page, 2).click();
  await expect(text(page, 2)).toContainText('Welcome to nginx!');
  await shot(page, 'phone');
});

test('keyboard only: the arrow keys move between the terminals, each a shell of its own', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await openPage(page, '/pods/', { dock: true });
  const input = (n: number) => panel(page, n).getByRole('textbox', { name: 'Terminal input' });
  await input(1).focus();
  // Out of the terminal (Escape, then Shift+Tab), back through the dock's controls to its tabs.
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Tab');
  for (
    let i = 0;
    i < 30 && !(await tab(page, 1).evaluate((el) => el === document.activeElement));
    i++
  )
    await page.keyboard.press('Shift+Tab');
  await expect(tab(page, 1)).toBeFocused();
  // One tab stop for the list: the other tab is reached with the arrows.
  await expect(tab(page, 2)).toHaveAttribute('tabindex', '-1');

  await page.keyboard.press('ArrowRight');
  await expect(tab(page, 2)).toBeFocused();
  await expect(tab(page, 2)).toHaveAttribute('aria-selected', 'true');
  await expect(panel(page, 2)).toBeVisible();
  await expect(panel(page, 1)).toBeHidden();
  await expect(page.locator('kn-terminal-dock .kn-dock-status')).toContainText('Connected');

  // Into Terminal 2 with Tab: its own shell.
  for (let i = 0; i < 30 && !(await input(2).evaluate((el) => el === document.activeElement)); i++)
    await page.keyboard.press('Tab');
  await expect(input(2)).toBeFocused();
  await page.keyboard.type('echo in-two-$((2+3))');
  await page.keyboard.press('Enter');
  await expect(text(page, 2)).toContainText('in-two-5');

  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Tab');
  for (
    let i = 0;
    i < 30 && !(await tab(page, 2).evaluate((el) => el === document.activeElement));
    i++
  )
    await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Home');
  await expect(tab(page, 1)).toBeFocused();
  await expect(panel(page, 1)).toBeVisible();
  await expect(text(page, 1)).not.toContainText('in-two-5');
  await page.keyboard.press('End');
  await expect(tab(page, 2)).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowLeft');
  await expect(tab(page, 1)).toHaveAttribute('aria-selected', 'true');
});

test('in a workshop, Terminal 2 works in the namespace of Terminal 1, with no second join code', async ({
  page,
}) => {
  test.skip(!process.env.KUBENOTES_TEST_KUBECONFIG, 'the workshop server needs the test cluster');
  await page.goto(`http://127.0.0.1:${WORKSHOP_PORT}/pods/?join=${JOIN_CODE}`);
  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  const dock = page.locator('kn-terminal-dock');
  await expect(dock.locator('.kn-dock-namespace')).toContainText('namespace kn-');
  const namespace = ((await dock.locator('.kn-dock-namespace').textContent()) ?? '').replace(
    'namespace ',
    '',
  );
  await tab(page, 2).click();
  await expect(dock.locator('.kn-dock-status')).toContainText('Connected');
  const input = panel(page, 2).getByRole('textbox', { name: 'Terminal input' });
  await input.focus();
  await page.keyboard.type(`kubectl config view --minify -o jsonpath='ns={..namespace}'; echo`);
  await page.keyboard.press('Enter');
  await expect(text(page, 2)).toContainText(`ns=${namespace}`);
  // Two sessions of one participant: Terminal 1 sees what Terminal 2 made.
  await page.keyboard.type('kubectl create configmap made-in-two');
  await page.keyboard.press('Enter');
  await expect(text(page, 2)).toContainText('configmap/made-in-two created');
  await tab(page, 1).click();
  await panel(page, 1).getByRole('textbox', { name: 'Terminal input' }).focus();
  await page.keyboard.type('kubectl get configmap made-in-two -o name');
  await page.keyboard.press('Enter');
  await expect(text(page, 1)).toContainText('configmap/made-in-two');
  // One localhost for both, as on a reader's own machine: Terminal 1 holds a listener (as the
  // chapter's port-forward does) and Terminal 2 reaches it.
  await page.keyboard.type(
    "socat TCP-LISTEN:8088,bind=127.0.0.1,fork,reuseaddr SYSTEM:'echo served-by-terminal-one'",
  );
  await page.keyboard.press('Enter');
  await tab(page, 2).click();
  await panel(page, 2).getByRole('textbox', { name: 'Terminal input' }).focus();
  await expect(async () => {
    await page.keyboard.type('cat < /dev/tcp/127.0.0.1/8088');
    await page.keyboard.press('Enter');
    await expect(text(page, 2)).toContainText('served-by-terminal-one', { timeout: 2_000 });
  }).toPass({ timeout: 20_000 });
  await shot(page, 'workshop-localhost');
});

for (const theme of ['light', 'dark'] as const) {
  test(`axe: the dock with both terminals open, ${theme} theme`, async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await openPage(page, '/pods/', { dock: true, theme });
    await tab(page, 2).click();
    await expect(page.locator('kn-terminal-dock .kn-dock-status')).toContainText('Connected');
    await page.addScriptTag({ path: axePath });
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: { run(context: string): Promise<{ violations: unknown[] }> };
        }
      ).axe;
      return (await axe.run('kn-terminal-dock')).violations;
    });
    expect(violations).toEqual([]);
    await shot(page, `dock-tabs-${theme}`);
  });
}
