/**
 * The guide away from `npm start`: on a static host of another origin talking to the sandbox
 * across origins, and in a workshop that asks for a join code.
 */
import { expect, test } from '@playwright/test';
import { JOIN_CODE, STATIC_PORT, WORKSHOP_PORT } from '../../playwright.config.ts';

test('on a static host, ?sandbox= points the page at a sandbox of another origin', async ({
  page,
  baseURL,
}) => {
  await page.goto(
    `http://127.0.0.1:${STATIC_PORT}/pods/?sandbox=${encodeURIComponent(baseURL ?? '')}`,
  );
  const block = page.locator('kn-snippet', { hasText: 'kubectl get pods' }).first();
  await block.getByRole('button', { name: /^Run:/ }).click();
  await expect(block).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
  await expect(page.getByRole('region', { name: 'Terminal' }).locator('.xterm-rows')).toContainText(
    'kubectl get pods',
  );
});

test('on a static host with no sandbox, Run says why and Copy still works', async ({
  page,
  context,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto(`http://127.0.0.1:${STATIC_PORT}/pods/`);
  const block = page.locator('kn-snippet', { hasText: 'kubectl get pods' }).first();
  const run = block.getByRole('button', { name: /^Run:/ });
  await expect(run).toBeDisabled();
  await expect(block.locator('.kn-status')).toContainText('npm start');
  await block.getByRole('button', { name: 'Copy commands' }).click();
  await expect(block.locator('.kn-status')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain('kubectl get pods');
});

test('a workshop asks for the join code, then gives the participant a namespace of their own', async ({
  page,
}) => {
  test.skip(
    !process.env.KUBENOTES_TEST_KUBECONFIG,
    'the workshop server needs the test cluster (npm test starts it)',
  );
  await page.goto(`http://127.0.0.1:${WORKSHOP_PORT}/pods/?join=not-the-code`);
  const block = page.locator('kn-snippet', { hasText: 'kubectl get pods' }).first();
  await block.getByRole('button', { name: /^Run:/ }).click();
  const dock = page.locator('kn-terminal-dock');
  await expect(dock.getByLabel('Join code')).toBeVisible();
  await expect(dock.locator('.kn-join-error')).toContainText('join code');
  await dock.getByLabel('Join code').fill(JOIN_CODE);
  await dock.getByRole('button', { name: 'Join' }).click();
  await expect(dock.locator('.kn-dock-namespace')).toContainText('namespace kn-');
  await expect(block).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
  await expect(dock.locator('.xterm-rows')).toContainText('No resources found in kn-');
});
