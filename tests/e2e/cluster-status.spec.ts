/**
 * The sandbox's state, shown before anything is run: in the dock, and on each block that
 * talks to the cluster, whose Run cannot work without one.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { KIND_NAME, kindStandIns } from '../support/kind-stand-ins.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';
import { shellPath } from '../support/workshop-server.ts';

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

test('while the kind cluster is made, the dock shows how far, and Run comes on when it is ready', async ({
  page,
}) => {
  test.skip(!process.env.KUBENOTES_TEST_KUBECONFIG, 'needs the test cluster (npm test starts it)');
  // `npm start` with kind stand-ins whose cluster creation waits for the test (kind-stand-ins.ts).
  const { dir, bin } = kindStandIns();
  const starting = await startServerProcess(
    [
      '--site-dir',
      'dist',
      '--cluster',
      'kind',
      '--kind-name',
      KIND_NAME,
      '--shell-path',
      `${bin}:${shellPath}`,
    ],
    { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } },
  );
  try {
    await page.goto(`${starting.url}/pods/`);
    const block = page.locator('kn-snippet[data-cluster]').first();
    const run = block.getByRole('button', { name: /^Run:/ });
    await expect(run).toBeDisabled();
    await expect(block.locator('.kn-status')).toContainText('still being made');
    await expect(block.locator('.kn-status')).toContainText('Ensuring node image');
    await page.getByRole('button', { name: 'Terminal', exact: true }).click();
    const status = page.locator('kn-terminal-dock .kn-dock-cluster-status');
    await expect(status).toHaveText(/^Cluster starting: kind: .*Ensuring node image/);
    await page.setViewportSize({ width: 390, height: 844 });
    const screenshots = process.env.KUBENOTES_SCREENSHOTS;
    if (screenshots) await page.screenshot({ path: `${screenshots}/cluster-starting-390.png` });

    writeFileSync(join(dir, 'go'), '');
    await expect(status).toHaveText(/^Cluster ready \(kind\)/, { timeout: 30_000 });
    await expect(run).toBeEnabled();
    await run.click();
    await expect(block).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
  } finally {
    await starting.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
