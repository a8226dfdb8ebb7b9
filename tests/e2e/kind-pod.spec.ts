/**
 * On the kind tier only (real containers): Run the block that creates the Pod in the Pods chapter and
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
  for (const text of ['kubectl create -f', 'kubectl wait', 'kubectl get pods']) {
    await block(text).getByRole('button', { name: /^Run:/ }).click();
    await expect(block(text)).toHaveAttribute('data-state', 'succeeded', { timeout: 120_000 });
  }
  const terminal = page.getByRole('region', { name: 'Terminal' }).locator('.xterm-rows');
  await expect(terminal).toContainText(new RegExp(`${name}\\s+1/1\\s+Running`));
});

test("Open shows the Pods chapter's nginx, and the rolling update's Service through a rollout", async ({
  page,
}) => {
  test.skip(
    !process.env.KUBENOTES_KIND_E2E,
    'runs in the kind tier (npm test, when the node image is cached)',
  );
  test.setTimeout(300_000);
  const name = `kind-open-${Math.random().toString(36).slice(2, 7)}`;
  const block = (text: string) => page.locator('kn-snippet', { hasText: text }).first();
  const run = async (text: string) => {
    await block(text).getByRole('button', { name: /^Run:/ }).click();
    await expect(block(text)).toHaveAttribute('data-state', 'succeeded', { timeout: 120_000 });
  };
  const app = (target: string) =>
    page
      .getByRole('region', { name: `App ${target}` })
      .locator('iframe')
      .contentFrame();

  await page.goto('/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill(name);
  for (const text of ['kubectl create -f', 'kubectl wait']) await run(text);
  await page.getByRole('button', { name: `Open pod/${name}:8080 in a pane below` }).click();
  await expect(app(`pod/${name}:8080`).getByRole('heading', { level: 1 })).toHaveText(
    'Welcome to nginx!',
  );

  // After the rollout (new Pods, from a new ReplicaSet) the Service still answers. The kind
  // tier's images are one stand-in under two tags, so the page itself cannot differ.
  await page.goto('/rolling-updates/');
  await page.getByLabel('deployment_name', { exact: true }).fill(name);
  await run('kubectl expose deployment');
  const target = `svc/${name}:8080`;
  await page.getByRole('button', { name: `Open ${target} in a pane below` }).click();
  await expect(app(target).getByRole('heading', { level: 1 })).toHaveText('Welcome to nginx!');
  for (const text of ['kubectl set image', 'old replicas are pending']) await run(text);
  await page.getByRole('button', { name: 'Reload' }).click();
  await expect(app(target).getByRole('heading', { level: 1 })).toHaveText('Welcome to nginx!');
  for (const text of ['kubectl delete deployment']) await run(text);
});
