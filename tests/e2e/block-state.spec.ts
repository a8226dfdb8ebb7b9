/**
 * What a block says about its run: one clear message, in words and with its exit code.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { openPage } from './reader-pages.ts';

/** Pods a test made on the shared test cluster: deleted after it. */
const podsMade: string[] = [];
test.afterEach(async () => {
  const kubeconfig = process.env.KUBENOTES_TEST_KUBECONFIG;
  const dir = process.env.KUBENOTES_TEST_KUBECTL_DIR;
  const names = podsMade.splice(0);
  if (!kubeconfig || names.length === 0) return;
  await new Promise((resolve) =>
    execFile(
      dir ? join(dir, 'kubectl') : 'kubectl',
      ['delete', 'pod', '--ignore-not-found', '--wait=false', ...names],
      { env: { ...process.env, KUBECONFIG: kubeconfig } },
      resolve,
    ),
  );
});

test('a failed block says "Failed (exit code N)", once, with nothing left blank', async ({
  page,
}) => {
  await openPage(page, '/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill(`missing-${Date.now().toString(36)}`);
  const block = page.locator('kn-snippet', { hasText: 'kubectl describe pod' }).first();
  await block.getByRole('button', { name: /^Run:/ }).click();
  await expect(block).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });
  const status = block.locator('.kn-status');
  await expect(status).toHaveText('Failed (exit code 1)');
  // What the reader sees, generated text included, is that message and its mark only.
  const shown = await status.evaluate((el) => {
    const generated = (pseudo: string) => {
      const content = getComputedStyle(el, pseudo).content;
      return content === 'none' || content === 'normal' ? '' : content.replace(/^"|"$/g, '');
    };
    return `${generated('::before')}${el.textContent}${generated('::after')}`;
  });
  expect(shown).toBe('✗ Failed (exit code 1)');
});

test('a bad variable: its message shows code, not backticks, and the code shows no bad value', async ({
  page,
}) => {
  await openPage(page, '/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill('Not_A_Valid_Name');
  const error = page.locator('#kn-var-pod_name-error');
  await expect(error.locator('code').first()).toHaveText('pod_name');
  expect(await error.textContent()).not.toContain('`');
  const inCode = page.locator('kn-snippet .kn-var[data-var="pod_name"]').first();
  await expect(inCode).toHaveText('<pod_name>');
  await expect(inCode).toHaveAttribute('data-invalid', '');
});

test('the expected output follows the variables: the Pod named api is "pod/api created"', async ({
  page,
}) => {
  await openPage(page, '/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill('api');
  const block = page.locator('kn-snippet', { hasText: 'kind: Pod' }).first();
  await expect(block.locator('.kn-output').first()).toHaveText('pod/api created');
  // And where a later block lists it.
  const list = page.locator('kn-snippet[data-commands="[\\"kubectl get pods\\"]"]').first();
  await expect(list.locator('.kn-output').nth(1)).toContainText(/^api\s+1\/1/);
});

test('search results quote the guide, not the buttons', async ({ page }) => {
  await openPage(page, '/pods/');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('dialog', { name: 'Search' }).getByRole('textbox').fill('restart Never');
  const results = page.locator('#kn-search-results .pagefind-ui__result');
  await expect(results.first()).toBeVisible();
  for (const text of await results.allTextContents()) {
    expect(text).not.toMatch(/Run\s*Copy/);
  }
});

test('a block the local sandbox cannot run says what to install, and its Run looks off', async ({
  page,
}) => {
  await openPage(page, '/local-images/', { theme: 'light' });
  const enabled = page.locator('kn-snippet:not([data-needs]) .kn-run:not(:disabled)').first();
  await expect(enabled).toBeVisible();
  // The blocks that need what this machine lacks (kind, docker) are disabled by now.
  const block = page.locator('kn-snippet[data-needs][data-disabled-reason]').first();
  test.skip((await block.count()) === 0, 'this machine has docker and kind: nothing is missing');
  const run = block.getByRole('button', { name: /^Run:/ });
  await expect(run).toBeDisabled();
  const status = block.locator('.kn-status');
  await expect(status).toContainText('Install');
  await expect(status).not.toContainText('your own machine');
  // In the light theme a disabled Run does not wear the enabled one's colours.
  const look = (el: Element) => {
    const s = getComputedStyle(el);
    return `${s.backgroundColor} ${s.color} ${s.borderStyle}`;
  };
  expect(await run.evaluate(look)).not.toBe(await enabled.evaluate(look));
});

test('after a resize the light theme shows no black band under the terminal', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openPage(page, '/pods/', { dock: true, theme: 'light' });
  await page.setViewportSize({ width: 1000, height: 640 });
  const handle = page.getByRole('separator', { name: /Terminal height/ });
  await handle.focus();
  await page.keyboard.press('ArrowDown');
  const black = await page
    .locator('kn-terminal-dock .kn-dock-screen:not([hidden])')
    .evaluate((screen) =>
      [screen, ...screen.querySelectorAll('*')]
        .filter((el) => {
          const box = el.getBoundingClientRect();
          return (
            box.width > 0 &&
            box.height > 0 &&
            getComputedStyle(el).backgroundColor === 'rgb(0, 0, 0)'
          );
        })
        .map((el) => el.className),
    );
  expect(black).toEqual([]);
});

test('the site icon is there', async ({ page }) => {
  const response = await page.request.get('/favicon.svg');
  expect(response.status()).toBe(200);
});

test('"Run the steps above" starts after the last step that succeeded, and names a failed one', async ({
  page,
}) => {
  test.skip(!process.env.KUBENOTES_TEST_KUBECONFIG, 'needs the test cluster (npm test starts it)');
  const name = `e2e-above-${Date.now().toString(36)}`;
  podsMade.push(name);
  await openPage(page, '/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill(name);
  const blocks = page.locator('kn-snippet[data-snippet-id]');
  const ids = await blocks.evaluateAll((els) =>
    els.map((el) => (el as HTMLElement).dataset.snippetId),
  );
  const commands = await blocks.evaluateAll((els) =>
    els.map((el) => (el as HTMLElement).dataset.commands ?? ''),
  );
  const at = commands.findIndex((c) => c.includes('kind: Pod'));
  const create = blocks.nth(at);
  await create.getByRole('button', { name: /^Run:/ }).click();
  await expect(create).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
  await page.evaluate(() => {
    const log: string[] = [];
    (window as unknown as { stateLog: string[] }).stateLog = log;
    new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target as HTMLElement;
        // Steps only: the page's tasks change state too, as they are checked after each command.
        if (el.dataset.snippetId) log.push(`${el.dataset.snippetId}:${el.dataset.state}`);
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
  // Two steps on: only the step between runs; the create step and the clean-up before it do not.
  await blocks
    .nth(at + 2)
    .getByRole('button', { name: /^Run the steps above/ })
    .click();
  await expect(blocks.nth(at + 1)).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 });
  const log = await page.evaluate(() => (window as unknown as { stateLog: string[] }).stateLog);
  expect(log).toEqual([`${ids[at + 1]}:running`, `${ids[at + 1]}:succeeded`]);

  // A Pod that does not exist: the wait step fails, and the stop names it by command and line.
  await page.getByLabel('pod_name', { exact: true }).fill(`${name}-gone`);
  const wait = blocks.nth(at + 1);
  await wait.getByRole('button', { name: /^Run:/ }).click();
  await expect(wait).toHaveAttribute('data-state', 'failed', { timeout: 90_000 });
  const later = blocks.nth(at + 2);
  await later.getByRole('button', { name: /^Run the steps above/ }).click();
  const line = await wait.getAttribute('data-line');
  await expect(later.locator('.kn-status')).toHaveText(
    `Stopped at kubectl wait --for=condition=Ready pod ${name}-gone --timeout=60s (line ${line}): Failed (exit code 1)`,
    { timeout: 90_000 },
  );
  await expect(later.locator('.kn-status code')).toHaveCount(1);
});
