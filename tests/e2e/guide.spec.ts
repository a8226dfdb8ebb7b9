/**
 * The guide as a reader uses it: Chromium against `kubenotes serve`, the sandbox's shells on
 * the test cluster (a real API server) with a real kubectl.
 */
import { expect, type Page, test } from '@playwright/test';
import { blockWith, runButton, snippet } from './reader-pages.ts';

const terminal = (page: Page) => page.getByRole('region', { name: 'Terminal' });
const terminalText = (page: Page) => terminal(page).locator('.xterm-rows');
const unique = () => `e2e-${Math.random().toString(36).slice(2, 8)}`;

test('the front page links every chapter, and the Pods chapter is at /pods/', async ({ page }) => {
  await page.goto('/');
  for (const href of ['/pods/', '/local-images/', '/deployments/']) {
    await expect(page.locator(`main a[href="${href}"]`).first()).toBeVisible();
  }
  await page.goto('/pods/');
  await expect(page.getByRole('heading', { level: 1, name: 'Pods' })).toBeVisible();
  // The terminal is not loaded until it is needed.
  await expect(page.locator('kn-terminal-dock')).toBeHidden();
});

test('an invalid variable is refused next to its field, and nothing is sent', async ({ page }) => {
  await page.goto('/pods/');
  const field = page.getByLabel('pod_name', { exact: true });
  await field.fill('Not_A_Valid_Name');
  await expect(page.locator('#kn-var-pod_name-error')).toContainText('pod_name');
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  const first = snippet(page, await blockWith(page, 'kind: Pod'));
  await runButton(first).click();
  await expect(first).toHaveAttribute('data-state', 'failed');
  await expect(first.locator('.kn-status')).toContainText('pod_name');
  // Nothing was sent: the terminal never opened, so no session was even created.
  await expect(page.locator('kn-terminal-dock')).toBeHidden();
});

test('set a variable, Run a block: real output in the terminal, state succeeded', async ({
  page,
}) => {
  const name = unique();
  await page.goto('/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill(name);
  // The code shows the reader's value where the placeholder was.
  const block = snippet(page, await blockWith(page, 'kind: Pod'));
  await expect(block.locator('.kn-var[data-var="pod_name"]').first()).toHaveText(name);
  await runButton(block).click();
  await expect(terminal(page)).toBeVisible();
  await expect(block).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
  await expect(terminalText(page)).toContainText(`pod/${name} created`);

  // A command that fails is marked failed, with its exit code.
  await page.getByLabel('pod_name', { exact: true }).fill(`${name}-missing`);
  const describe = snippet(page, await blockWith(page, 'kubectl describe pod'));
  await runButton(describe).click();
  await expect(describe).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });
  await expect(describe).toHaveAttribute('data-exit-code', '1');
  await expect(terminalText(page)).toContainText('NotFound');
});

test('a reload keeps the terminal: same session, same screen', async ({ page }) => {
  await page.goto('/pods/');
  const block = snippet(page, await blockWith(page, 'kubectl get pods'));
  await runButton(block).click();
  await expect(block).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
  const marker = `reload-marker-${unique()}`;
  await terminal(page).locator('.xterm').click();
  await page.keyboard.type(`echo ${marker}\n`);
  await expect(terminalText(page)).toContainText(marker);
  await page.reload();
  await expect(terminal(page)).toBeVisible();
  await expect(page.locator('kn-terminal-dock .kn-dock-status')).toContainText('resumed');
  await expect(terminalText(page)).toContainText(marker);
  // And on another chapter too.
  await page.goto('/deployments/');
  await expect(terminalText(page)).toContainText(marker);
});

test('"Run the steps above" runs the earlier blocks in order, each after the previous', async ({
  page,
}) => {
  await page.goto('/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill(unique());
  const ids = await page.$$eval('kn-snippet[data-snippet-id]', (els) =>
    els.map((el) => (el as HTMLElement).dataset.snippetId ?? ''),
  );
  const target = snippet(page, ids[3]!);
  // Record each block's state changes in order.
  await page.evaluate(() => {
    const log: string[] = [];
    (window as unknown as { stateLog: string[] }).stateLog = log;
    new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target as HTMLElement;
        // Snippets only: the page's tasks change state too, as they are checked.
        if (el.tagName !== 'KN-SNIPPET') continue;
        log.push(`${el.dataset.snippetId}:${el.dataset.state}`);
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
  await target.getByRole('button', { name: /^Run the steps above: the 3 before/ }).click();
  for (const id of ids.slice(0, 3)) {
    await expect(snippet(page, id)).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 });
  }
  await expect(target).toHaveAttribute('data-state', 'idle');
  const log = await page.evaluate(() => (window as unknown as { stateLog: string[] }).stateLog);
  expect(log).toEqual(ids.slice(0, 3).flatMap((id) => [`${id}:running`, `${id}:succeeded`]));
});

test('search loads on the first search and finds a chapter', async ({ page }) => {
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  await page.goto('/pods/');
  await page.waitForTimeout(1500);
  expect(requested.some((url) => url.includes('pagefind'))).toBe(false);
  await page.getByRole('button', { name: 'Search' }).click();
  const input = page.getByRole('dialog', { name: 'Search' }).getByRole('textbox');
  await input.fill('ReplicaSet');
  await expect(page.locator('#kn-search-results a[href*="/deployments/"]').first()).toBeVisible();
});
