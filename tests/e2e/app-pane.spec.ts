/**
 * "Open what you deployed" as a reader uses it: the Open button of the rolling-update
 * chapter's Service block shows the app in a pane of the dock, through the sandbox's app route
 * and the test cluster's API server (the Pod behind the Service points at a stand-in app in a
 * network namespace the test makes, see tests/support/app-responder.ts; a Pod's own port
 * has nothing there, so the Pods chapter's block is tried with a Pod that does not exist).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { KubeConfig } from '@kubernetes/client-node';
import { expect, test } from '@playwright/test';
import {
  type AppNetwork,
  appNetworkUnavailable,
  createAppNetwork,
} from '../support/app-network.ts';
import { type AppResponder, deployApp, startAppResponder } from '../support/app-responder.ts';

const kubeconfig = process.env.KUBENOTES_TEST_KUBECONFIG;
const unavailable = appNetworkUnavailable();
const screenshots = process.env.KUBENOTES_SCREENSHOTS;

/** Local mode: the reader's session works in the kubeconfig's namespace (the run's own). */
function readerNamespace(config: KubeConfig): string {
  return config.getContextObject(config.getCurrentContext())?.namespace ?? 'default';
}

test.describe('the app pane', () => {
  test.skip(!kubeconfig, 'needs the test cluster');
  test.skip(unavailable !== undefined, unavailable);
  let network: AppNetwork;
  let app: AppResponder;
  const name = `pane-${Math.random().toString(36).slice(2, 8)}`;
  test.beforeAll(async () => {
    network = await createAppNetwork();
    app = await startAppResponder(network, 'your Deployment');
    const admin = new KubeConfig();
    admin.loadFromFile(kubeconfig ?? '');
    // Local mode: the reader's session works in the kubeconfig's namespace.
    // On the port the chapter's Service uses (its Pods' nginx listens on 8080).
    await deployApp(admin, readerNamespace(admin), name, app.port, network.address, 8080);
  });
  test.afterAll(async () => {
    const admin = new KubeConfig();
    admin.loadFromFile(kubeconfig ?? '');
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const core = admin.makeApiClient(CoreV1Api);
    await core
      .deleteNamespacedService({ name, namespace: readerNamespace(admin) })
      .catch(() => undefined);
    await core
      .deleteNamespacedPod({ name, namespace: readerNamespace(admin), gracePeriodSeconds: 0 })
      .catch(() => undefined);
    await app?.close();
    network?.close();
  });

  for (const [width, theme] of [
    [1280, 'light'],
    [390, 'light'],
    [1280, 'dark'],
  ] as const) {
    test(`Open shows the Service's page in a sandboxed pane, keyboard only (${width} px, ${theme})`, async ({
      page,
    }) => {
      await page.emulateMedia({ colorScheme: theme });
      await page.setViewportSize({ width, height: width > 800 ? 800 : 844 });
      await page.goto('/rolling-updates/');
      await page.getByLabel('deployment_name', { exact: true }).fill(name);
      const open = page.getByRole('button', { name: `Open svc/${name}:8080 in a pane below` });
      await open.focus();
      await page.keyboard.press('Enter');
      const pane = page.getByRole('region', { name: `App svc/${name}:8080` });
      await expect(pane).toBeVisible();
      const frame = pane.locator('iframe');
      await expect(frame).toHaveAttribute('sandbox', 'allow-scripts allow-forms allow-popups');
      await expect(frame.contentFrame().getByRole('heading')).toHaveText(
        'Hello from your Deployment',
      );
      // A new tab gets the same page, by a link that needs no token.
      const href = await pane.getByRole('link', { name: 'Open in a new tab' }).getAttribute('href');
      expect(href).toMatch(new RegExp(`/apps/[a-z0-9]+/[0-9a-z]+\\.[\\w-]{32}/svc/${name}:8080/$`));
      // No accessibility violations in the pane and its button (the app inside is the reader's).
      // (evaluated, not added as a script: the site's CSP allows no script it does not know)
      await page.evaluate(readFileSync(createRequire(import.meta.url).resolve('axe-core'), 'utf8'));
      const violations = await page.evaluate(async () => {
        type Run = (
          context: unknown,
          options: unknown,
        ) => Promise<{ violations: { id: string }[] }>;
        const axe = (window as unknown as { axe: { run: Run } }).axe;
        const result = await axe.run(
          { include: [['kn-app-pane'], ['kn-snippet:has(.kn-open)']] },
          { runOnly: ['wcag2a', 'wcag2aa'], rules: { 'frame-tested': { enabled: false } } },
        );
        return result.violations.map((v) => v.id);
      });
      expect(violations).toEqual([]);
      if (screenshots) {
        await page.screenshot({ path: `${screenshots}/app-pane-${width}-${theme}.png` });
      }
      // The pane closes from the keyboard too, and the terminal has the dock again.
      await pane.getByRole('button', { name: 'Close the app' }).focus();
      await page.keyboard.press('Enter');
      await expect(pane).toBeHidden();
    });
  }

  test("the app in the pane cannot read the guide's storage, where the session token is", async ({
    page,
  }) => {
    await page.goto('/rolling-updates/');
    await page.getByLabel('deployment_name', { exact: true }).fill(name);
    await page.getByRole('button', { name: `Open svc/${name}:8080 in a pane below` }).click();
    const pane = page.getByRole('region', { name: `App svc/${name}:8080` });
    await expect(pane.locator('iframe').contentFrame().getByRole('heading')).toHaveText(
      'Hello from your Deployment',
    );
    // The guide's origin holds the session (and its token) in localStorage.
    expect(await page.evaluate(() => Object.keys(localStorage).join(' '))).toMatch(
      /kubenotes:session:/,
    );
    // The same app, at a page whose script tries to read it.
    await page.evaluate(() => {
      const frame = document.querySelector<HTMLIFrameElement>('kn-app-pane iframe');
      if (frame) frame.src = new URL('storage', frame.src).href;
    });
    await expect
      .poll(async () => (await page.frame({ url: /\/storage$/ })?.title()) ?? 'not loaded')
      .toBe('blocked:SecurityError');
  });

  test('a target that does not exist says so in the pane', async ({ page }) => {
    await page.goto('/pods/');
    await page.getByLabel('pod_name', { exact: true }).fill(`${name}-missing`);
    await page
      .getByRole('button', { name: `Open pod/${name}-missing:8080 in a pane below` })
      .click();
    const pane = page.getByRole('region', { name: `App pod/${name}-missing:8080` });
    await expect(pane.locator('iframe').contentFrame().locator('body')).toContainText(
      `There is no Pod ${name}-missing in your namespace`,
    );
  });
});
