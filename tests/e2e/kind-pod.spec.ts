/**
 * On the kind tier only (real containers): Run a `kubectl run` block in the Pods chapter and
 * watch the Pod reach Running in the page's terminal.
 */
import { expect, test } from '@playwright/test';

test('a Pod started from the Pods chapter reaches Running on the kind cluster', async ({
  page,
}) => {
  test.skip(
    !process.env.KUBENOTES_KIND_E2E,
    'runs in the kind tier (npm test, when the node image is cached)',
  );
  const name = `kind-e2e-${Math.random().toString(36).slice(2, 7)}`;
  await page.goto('/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill(name);
  const block = (text: string) => page.locator('kn-snippet', { hasText: text }).first();
  for (const text of ['kubectl run', 'kubectl wait', 'kubectl get pods']) {
    await block(text).getByRole('button', { name: /^Run:/ }).click();
    await expect(block(text)).toHaveAttribute('data-state', 'succeeded', { timeout: 120_000 });
  }
  const terminal = page.getByRole('region', { name: 'Terminal' }).locator('.xterm-rows');
  await expect(terminal).toContainText(new RegExp(`${name}\\s+1/1\\s+Running`));
});
