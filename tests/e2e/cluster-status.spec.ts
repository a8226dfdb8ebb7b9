/**
 * The sandbox's state, shown before anything is run: in the dock, and on each block that
 * talks to the cluster, whose Run cannot work without one.
 */
import { expect, test } from '@playwright/test';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

let noCluster: ServerProcess;

test.beforeAll(async () => {
  // The guide the e2e server built, from a sandbox that has no cluster at all.
  noCluster = await startServerProcess([
    '--site-dir',
    'dist',
    '--cluster',
    'none',
    '--shell-path',
    '/usr/bin:/bin',
  ]);
});
test.afterAll(async () => {
  await noCluster?.stop();
});

test('with no cluster, the dock says so and a kubectl block says why before the click', async ({
  page,
}) => {
  await page.goto(`${noCluster.url}/pods/`);
  const block = page.locator('kn-snippet[data-cluster]').first();
  const run = block.getByRole('button', { name: /^Run:/ });
  await expect(run).toBeDisabled();
  await expect(block.locator('.kn-status')).toContainText('needs the cluster');
  await expect(block.locator('.kn-status')).toContainText('--cluster none');
  // A block that expects a failure is not run into a failure for the wrong reason either.
  await expect(
    page.locator('kn-snippet[data-cluster]:not([data-exit="0"]) .kn-run').first(),
  ).toBeDisabled();
  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  await expect(page.locator('kn-terminal-dock .kn-dock-cluster-status')).toHaveText(
    /^No cluster: .*--cluster none/,
  );
});

test('with a cluster, the dock says it is ready and Run is on', async ({ page }) => {
  test.skip(!process.env.KUBENOTES_TEST_KUBECONFIG, 'needs the test cluster (npm test starts it)');
  await page.goto('/pods/');
  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  await expect(page.locator('kn-terminal-dock .kn-dock-cluster-status')).toHaveText(
    /^Cluster ready/,
  );
  await expect(page.locator('kn-snippet[data-cluster] .kn-run').first()).toBeEnabled();
});
