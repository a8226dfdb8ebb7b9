/**
 * The dock's Cluster view as a reader uses it: Chromium against `kubenotes serve` on the test
 * cluster. A Run changes the cluster and the view follows; a selector highlights the Pods the
 * API server would select; the keyboard reaches everything, and the table says the same.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, type Locator, type Page, test } from '@playwright/test';
import { blockWith, runButton, snippet } from './reader-pages.ts';

const skipWithoutCluster = !process.env.KUBENOTES_TEST_KUBECONFIG;
const panel = (page: Page) => page.getByRole('region', { name: 'Cluster view' });
const unique = () => `cv-${Math.random().toString(36).slice(2, 8)}`;

/** Rows of the view's table for this Deployment's objects, by kind. */
function rows(page: Page, kind: string, name: string): Locator {
  return panel(page)
    .locator('.kn-cv-table tbody tr')
    .filter({ has: page.locator('td:first-child', { hasText: new RegExp(`^${kind}$`) }) })
    .filter({ has: page.locator('th', { hasText: new RegExp(`^${name}`) }) });
}

async function run(page: Page, command: string): Promise<void> {
  const block = snippet(page, await blockWith(page, command));
  await runButton(block).click();
  await expect(block).toHaveAttribute('data-state', 'succeeded', { timeout: 90_000 });
}

test.describe('the Cluster view', () => {
  test.skip(skipWithoutCluster, 'needs the test cluster');

  test('it follows a Run, and a typed selector highlights exactly its Pods', async ({ page }) => {
    const name = unique();
    await page.goto('/rolling-updates/');
    await page.getByLabel('deployment_name', { exact: true }).fill(name);
    await page.getByLabel('new_image', { exact: true }).fill('nginx:1.30-alpine');
    // The dock opens with the first Run; the view is loaded on first use only.
    await run(page, 'kind: Deployment');
    const loaded = () =>
      page.evaluate(() =>
        performance.getEntriesByType('resource').some((e) => e.name.includes('cluster-panel')),
      );
    expect(await loaded()).toBe(false);
    await page.getByRole('button', { name: 'Cluster' }).click();
    await expect(panel(page)).toBeVisible();
    expect(await loaded()).toBe(true);
    await expect(panel(page).locator('svg.kn-cv')).toBeVisible({ timeout: 20_000 });
    await expect(rows(page, 'Deployment', name)).toHaveCount(1);
    await expect(rows(page, 'ReplicaSet', name)).toHaveCount(1);
    await expect(rows(page, 'Pod', name)).toHaveCount(4);
    await expect(
      panel(page).locator(`.kn-cv-deployment text`, { hasText: `Deployment ${name}` }),
    ).toBeVisible();

    await panel(page).getByLabel('Highlight Pods matching').fill(`app=${name}`);
    await expect(panel(page).locator('.kn-cv-pod.kn-cv-hit')).toHaveCount(4);
    await expect(panel(page).locator('#kn-cv-selector-status')).toContainText(
      /^4 of \d+ Pods match\.$/,
    );
    await panel(page).getByLabel('Highlight Pods matching').fill(`app=${name},app notin (${name})`);
    await expect(panel(page).locator('.kn-cv-pod.kn-cv-hit')).toHaveCount(0);
    await panel(page).getByLabel('Highlight Pods matching').fill('app in web');
    await expect(panel(page).locator('#kn-cv-selector-status')).toContainText(
      "Not a selector: found 'web'",
    );

    await run(page, 'kubectl set image deployment/');
    await expect(rows(page, 'ReplicaSet', name)).toHaveCount(2);
    await expect(
      rows(page, 'ReplicaSet', name).filter({ hasText: 'revision 2, 4 of 4 ready' }),
    ).toHaveCount(1, { timeout: 30_000 });
    await expect(rows(page, 'Pod', name)).toHaveCount(4, { timeout: 30_000 });
    await run(page, 'kubectl delete deployment').catch(() => undefined);
  });

  test('keyboard only: an owner highlights its Pods, Enter keeps its selector; the table and axe agree', async ({
    page,
  }) => {
    const name = unique();
    await page.goto('/rolling-updates/');
    await page.getByLabel('deployment_name', { exact: true }).fill(name);
    await run(page, 'kind: Deployment');
    await page.getByRole('button', { name: 'Cluster' }).focus();
    await page.keyboard.press('Enter');
    const owner = panel(page).getByRole('button', { name: new RegExp(`^Deployment ${name}`) });
    await expect(owner).toBeVisible();
    // Tab from the selector box until the Deployment has focus.
    await panel(page).getByLabel('Highlight Pods matching').focus();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if (await owner.evaluate((el) => el === document.activeElement)) break;
    }
    await expect(owner).toBeFocused();
    await expect(panel(page).locator('.kn-cv-pod.kn-cv-hit')).toHaveCount(4);
    await page.keyboard.press('Enter');
    await expect(panel(page).getByLabel('Highlight Pods matching')).toHaveValue(`app=${name}`);
    await expect(owner).toHaveAttribute('aria-pressed', 'true');

    const summary = panel(page).getByText('The same as a table');
    await summary.focus();
    await page.keyboard.press('Enter');
    const table = panel(page).getByRole('table', { name: /Objects in the namespace/ });
    await expect(table).toBeVisible();
    await expect(
      rows(page, 'Pod', name).filter({ has: page.locator('td:last-child', { hasText: 'yes' }) }),
    ).toHaveCount(4);

    // The page's CSP refuses injected scripts; an evaluated one is the test's, not the page's.
    const require = createRequire(import.meta.url);
    await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
    for (const theme of ['dark', 'light']) {
      await page.evaluate((t) => {
        document.documentElement.dataset.theme = t;
      }, theme);
      const violations = await page.evaluate(async () => {
        // biome-ignore lint/suspicious/noExplicitAny: axe's global
        const result = await (window as any).axe.run('#kn-dock-cluster');
        return result.violations.map(
          (v: { id: string; nodes: { target: string[] }[] }) =>
            `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
        );
      });
      expect(violations, theme).toEqual([]);
    }
    await run(page, 'kubectl delete deployment').catch(() => undefined);
  });
});

test("the chapters' cluster pictures: named images with a text alternative, readable at 390 px, axe-clean in both themes", async ({
  page,
}) => {
  await page.goto('/rolling-updates/');
  const steps = page.getByRole('img', { name: /A rolling update of 4 replicas.*step \d/ });
  await expect(steps).toHaveCount(4);
  // The text alternative names every ReplicaSet and Pod the picture shows.
  const description = await steps.first().evaluate((svg) => svg.querySelector('desc')?.textContent);
  expect(description).toMatch(
    /Deployment hello .* owns ReplicaSet hello-\w+ \(revision 1\), which owns Pods/,
  );
  await page.setViewportSize({ width: 390, height: 844 });
  const narrow = page.getByRole('img', { name: /step 1/ });
  await expect(narrow).toBeVisible();
  expect((await narrow.boundingBox())?.width).toBeLessThanOrEqual(390);
  const require = createRequire(import.meta.url);
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  for (const theme of ['dark', 'light']) {
    await page.evaluate((t) => {
      document.documentElement.dataset.theme = t;
    }, theme);
    const violations = await page.evaluate(async () => {
      // biome-ignore lint/suspicious/noExplicitAny: axe's global
      const result = await (window as any).axe.run('.kn-cluster-picture');
      return result.violations.map((v: { id: string }) => v.id);
    });
    expect(violations, theme).toEqual([]);
  }
});
