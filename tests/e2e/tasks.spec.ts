/**
 * "Your turn": a reader solves a task by typing in the terminal, never pressing Run, and the
 * task turns green by itself (checked on the server after the command's end mark). A wrong
 * attempt shows what the check said; a reload keeps the tick.
 */
import { expect, type Page, test } from '@playwright/test';
import { ADMIN_TOKEN, JOIN_CODE, WORKSHOP_PORT } from '../../playwright.config.ts';
import { runRestrictedPod, UNPRIVILEGED_NGINX } from '../support/workshop-server.ts';
import { screenshot } from './reader-pages.ts';

const terminal = (page: Page) => page.getByRole('region', { name: 'Terminal' });
const terminalText = (page: Page) => terminal(page).locator('.xterm-rows');
const unique = () => `task-${Math.random().toString(36).slice(2, 8)}`;

/** A test that types kubectl commands, or uses the workshop server: it needs the test cluster. */
function needsCluster(): void {
  test.skip(!process.env.KUBENOTES_TEST_KUBECONFIG, 'needs the test cluster (npm test starts it)');
  test.setTimeout(120_000);
}

async function typeInTerminal(page: Page, command: string): Promise<void> {
  await terminal(page).locator('.xterm').click();
  await page.keyboard.type(`${command}\n`);
}

test('a task typed by hand turns green with no click; a wrong try shows why; a reload keeps it', async ({
  page,
}) => {
  needsCluster();
  const name = unique();
  await page.setViewportSize({ width: 1100, height: 1100 });
  await page.goto('/pods/');
  await page.getByLabel('task_pod', { exact: true }).fill(name);
  const task = page.locator('kn-task[data-task-id="pod-with-port"]');
  await expect(
    task.getByRole('heading', { name: /./ }).or(task.locator('.kn-task-title')),
  ).toHaveText('Run a Pod that declares its port');
  // The solution is hidden; hints come one at a time.
  await expect(task.locator('kn-snippet[data-role="solution"]')).toBeHidden();
  await expect(task.locator('kn-hint').first()).toBeHidden();
  await task.getByRole('button', { name: 'Hint (1 of 2)' }).click();
  await expect(task.locator('kn-hint').first()).toBeVisible();
  await expect(task.locator('kn-hint').nth(1)).toBeHidden();

  // Check, before anything is done: not yet, with the check's own words.
  await task.getByRole('button', { name: /^Check/ }).click();
  await expect(terminal(page)).toBeVisible();
  await expect(task).toHaveAttribute('data-state', 'not-yet', { timeout: 20_000 });
  await expect(task.locator('.kn-task-status')).toHaveText(
    `Not yet: There is no Pod named ${name} yet.`,
  );

  // A wrong try, typed by hand: the Pod runs, but without its port. No click: checked after it.
  await typeInTerminal(page, runRestrictedPod(name));
  await expect(terminalText(page)).toContainText(`pod/${name} created`);
  await expect(task.locator('.kn-task-status')).toContainText('declares no container port 8080', {
    timeout: 20_000,
  });
  await expect(task).toHaveAttribute('data-state', 'not-yet');

  // The solution, typed by hand: green with no click.
  await typeInTerminal(page, `kubectl delete pod ${name}`);
  await expect(terminalText(page)).toContainText(`pod "${name}" deleted`);
  await typeInTerminal(
    page,
    `${runRestrictedPod(name, [8080])} && kubectl wait --for=condition=Ready pod/${name} --timeout=60s`,
  );
  await expect(task).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(task.locator('.kn-task-status')).toHaveText(/^Done/);
  await task.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await screenshot(page, 'task-done');
  await expect(page.locator('.kn-progress-summary')).toContainText('1 of 1 task');

  // A reload keeps the tick, before any terminal is attached.
  await page.reload();
  await expect(task).toHaveAttribute('data-state', 'done');
  await expect(page.locator('.kn-progress-summary')).toContainText('1 of 1 task');

  await typeInTerminal(page, `kubectl delete pod ${name} --wait=false`);
});

test('the instructor sees who is trying a task, then that it is done', async ({ browser }) => {
  needsCluster();
  const instructor = await browser.newPage();
  await instructor.goto('/instructor/');
  await instructor.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await instructor.getByRole('button', { name: 'Connect' }).click();
  await expect(instructor.locator('.kn-admin-status')).toHaveText('Connected.');

  const participantContext = await browser.newContext();
  const page = await participantContext.newPage();
  const name = unique();
  await page.goto('/pods/');
  await page.getByLabel('task_pod', { exact: true }).fill(name);
  const task = page.locator('kn-task[data-task-id="pod-with-port"]');
  await task.getByRole('button', { name: /^Check/ }).click();
  await expect(task).toHaveAttribute('data-state', 'not-yet', { timeout: 20_000 });
  const id = await page.evaluate(
    () =>
      JSON.parse(localStorage.getItem(`kubenotes:session:${location.origin}`) ?? '{}').id as string,
  );
  const row = instructor.locator(`.kn-admin-grid tr[data-id="${id}"]`);
  await expect(row).toContainText('0 done');
  const classRow = instructor.locator('.kn-admin-tasks tr', { hasText: 'pods/pod-with-port' });
  await expect(classRow).toBeVisible();
  // The same wrong try, typed by two participants (checked after it, still not yet): the
  // class view names it, with 2. On a chapter whose task no other test checks, so no other
  // session's last line competes.
  const trying = await Promise.all([browser.newContext(), browser.newContext()]);
  const pages = await Promise.all(trying.map((c) => c.newPage()));
  for (const p of pages) {
    await p.goto('/deployments/');
    await p.getByLabel('task_deployment', { exact: true }).fill(name);
    const three = p.locator('kn-task[data-task-id="deployment-of-three"]');
    await three.getByRole('button', { name: /^Check/ }).click();
    await expect(three).toHaveAttribute('data-state', 'not-yet', { timeout: 20_000 });
  }
  for (const p of pages) await typeInTerminal(p, `kubectl get deployments -l try=${name}`);
  const threeRow = instructor.locator('.kn-admin-tasks tr', {
    hasText: 'deployments/deployment-of-three',
  });
  await expect(threeRow.locator('.kn-admin-command')).toHaveText(
    `kubectl get deployments -l try=${name} (2)`,
    { timeout: 20_000 },
  );
  for (const c of trying) await c.close();

  await typeInTerminal(
    page,
    `${runRestrictedPod(name, [8080])} && kubectl wait --for=condition=Ready pod/${name} --timeout=60s`,
  );
  await expect(task).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(row).toContainText('1 done');
  await typeInTerminal(page, `kubectl delete pod ${name} --wait=false`);
  await participantContext.close();
});

test('a task works from the keyboard at 390 px, in both themes, and passes axe', async ({
  browser,
}) => {
  // axe is injected as a script, which the site's CSP would refuse.
  const context = await browser.newContext({
    bypassCSP: true,
    viewport: { width: 390, height: 844 },
  });
  const page = await context.newPage();
  await page.goto('/pods/');
  const task = page.locator('kn-task[data-task-id="pod-with-port"]');
  const hint = task.getByRole('button', { name: 'Hint (1 of 2)' });
  await hint.focus();
  await page.keyboard.press('Enter');
  await expect(task.locator('kn-hint').first()).toBeVisible();
  await expect(task.locator('kn-hint').first()).toBeFocused();
  await task.getByRole('button', { name: 'Hint (2 of 2)' }).focus();
  await page.keyboard.press('Enter');
  await expect(task.locator('kn-hint').nth(1)).toBeVisible();
  // The last hint shown, its button goes.
  await expect(task.getByRole('button', { name: /^Hint/ })).toHaveCount(0);
  await task.getByRole('button', { name: 'Show me' }).focus();
  await page.keyboard.press('Enter');
  await expect(task.locator('kn-snippet[data-role="solution"]')).toBeVisible();
  await expect(task.getByRole('button', { name: 'Show me' })).toHaveCount(0);
  // Nothing wider than the screen.
  const width = await task.evaluate((el) => el.getBoundingClientRect().right);
  expect(width).toBeLessThanOrEqual(390);

  await page.addScriptTag({ path: 'node_modules/axe-core/axe.min.js' });
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => {
      document.documentElement.dataset.theme = t;
    }, theme);
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: {
            run: (
              el: Element,
            ) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }>;
          };
        }
      ).axe;
      const result = await axe.run(document.querySelector('kn-task')!);
      return result.violations.map(
        (v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
      );
    });
    expect(violations, theme).toEqual([]);
    await task.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await screenshot(page, `task-390-${theme}`);
  }
  await context.close();
});

test('the sidebar ticks a chapter whose steps and tasks are all done', async ({ page }) => {
  await page.goto('/labels/');
  await expect(page.locator('.kn-progress-summary')).toContainText('0 of 1 task');
  const pods = page.locator('#starlight__sidebar a[href="/labels/"]');
  await expect(pods.locator('.kn-finished')).toHaveCount(0);
  // As if every step had run and the task had been checked done in this browser.
  await page.evaluate(() => {
    const progress = JSON.parse(localStorage.getItem('kubenotes:progress') ?? '{}');
    const held = progress.pages['/labels/'];
    progress.steps = held.steps;
    progress.tasks = held.tasks;
    localStorage.setItem('kubenotes:progress', JSON.stringify(progress));
  });
  await page.reload();
  await expect(page.locator('.kn-progress-summary')).toHaveText(/^(\d+) of \1 steps, 1 of 1 task$/);
  await expect(pods.locator('.kn-finished')).toHaveAttribute('aria-label', ', finished');
  await expect(page.locator('kn-task')).toHaveAttribute('data-state', 'done');
  // The other chapters are not finished.
  await expect(page.locator('#starlight__sidebar a[href="/pods/"] .kn-finished')).toHaveCount(0);
});

test('"Run the steps above" skips the steps this session has done, and says so', async ({
  page,
}) => {
  needsCluster();
  await page.goto('/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill(unique());
  const ids = await page.$$eval('kn-snippet[data-snippet-id]', (els) =>
    els.map((el) => (el as HTMLElement).dataset.snippetId ?? ''),
  );
  const first = page.locator(`kn-snippet[data-snippet-id="${ids[0]}"]`);
  await first.getByRole('button', { name: /^Run:/ }).click();
  await expect(first).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 });
  const target = page.locator(`kn-snippet[data-snippet-id="${ids[3]}"]`);
  await target.getByRole('button', { name: /^Run the steps above/ }).click();
  // The step is named as the reader sees it (its command and line), never by its id.
  await expect(target.locator('.kn-status')).toContainText(
    /^Skipping 1 step already done: .+ \(line \d+\)\.$/,
  );
  for (const id of ids.slice(1, 3)) {
    await expect(page.locator(`kn-snippet[data-snippet-id="${id}"]`)).toHaveAttribute(
      'data-state',
      'succeeded',
      { timeout: 60_000 },
    );
  }
  // A reload shows what was done, as done before.
  await page.reload();
  await expect(first).toHaveAttribute('data-done', '');
  await expect(page.locator('.kn-progress-summary')).toContainText(/^3 of \d+ steps/);
});

test('"Start this chapter clean" runs the clean-up and forgets the chapter\'s progress', async ({
  page,
}) => {
  needsCluster();
  const name = unique();
  await page.goto('/pods/');
  await page.getByLabel('pod_name', { exact: true }).fill(name);
  // The step that creates the Pod (the chapter's first is its own "start clean").
  const first = page.locator('kn-snippet', { hasText: 'kubectl create -f' }).first();
  await first.getByRole('button', { name: /^Run:/ }).click();
  await expect(first).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 });
  await expect(page.locator('.kn-progress-summary')).toContainText(/^1 of \d+ steps/);
  await expect(terminalText(page)).toContainText(`pod/${name} created`);

  await page.getByRole('button', { name: 'Start this chapter clean' }).click();
  // The page reloads, its progress forgotten, here and in the session.
  await expect(page.locator('.kn-progress-summary')).toContainText(/^0 of \d+ steps/, {
    timeout: 60_000,
  });
  await expect(first).not.toHaveAttribute('data-done');
  await typeInTerminal(page, `kubectl get pod ${name}`);
  await expect(terminalText(page)).toContainText(`pods "${name}" not found`);
});

test("in a workshop, a task typed in the sandboxed shell turns green, checked in the participant's namespace", async ({
  page,
}) => {
  needsCluster();
  await page.goto(`http://127.0.0.1:${WORKSHOP_PORT}/pods/?join=${JOIN_CODE}`);
  const task = page.locator('kn-task[data-task-id="pod-with-port"]');
  await task.getByRole('button', { name: /^Check/ }).click();
  await expect(page.locator('kn-terminal-dock .kn-dock-namespace')).toContainText('namespace kn-');
  await expect(task).toHaveAttribute('data-state', 'not-yet', { timeout: 30_000 });
  await expect(task.locator('.kn-task-status')).toHaveText(
    'Not yet: There is no Pod named solo yet.',
  );
  await typeInTerminal(
    page,
    `${runRestrictedPod('solo', [8080])} && kubectl wait --for=condition=Ready pod/solo --timeout=60s`,
  );
  await expect(task).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(task.locator('.kn-task-status')).toHaveText(
    `Done: solo runs ${UNPRIVILEGED_NGINX}, declares port 8080 and is Ready.`,
  );
});

test('in a workshop, "Reset namespace" asks first, removes what the participant made and says what', async ({
  page,
}) => {
  needsCluster();
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.goto(`http://127.0.0.1:${WORKSHOP_PORT}/pods/?join=${JOIN_CODE}`);
  const task = page.locator('kn-task[data-task-id="pod-with-port"]');
  await task.getByRole('button', { name: /^Check/ }).click();
  await expect(page.locator('kn-terminal-dock .kn-dock-namespace')).toContainText('namespace kn-');
  await typeInTerminal(page, 'kubectl create configmap leftover --from-literal=a=b');
  await expect(terminalText(page)).toContainText('configmap/leftover created');

  const reset = terminal(page).getByRole('button', { name: 'Reset namespace' });
  await expect(reset).toBeVisible();
  // Declined: nothing happens.
  page.once('dialog', (dialog) => void dialog.dismiss());
  await reset.focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('.kn-dock-notice')).not.toContainText('Removed');
  // Confirmed, from the keyboard: the dock says what went.
  page.once('dialog', (dialog) => {
    expect(dialog.message()).toContain('Delete everything you made in namespace kn-');
    void dialog.accept();
  });
  await reset.focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('.kn-dock-notice')).toHaveText('Removed 1 ConfigMap (leftover).', {
    timeout: 30_000,
  });
  await screenshot(page, 'reset-namespace');
  await typeInTerminal(page, 'kubectl get configmap leftover');
  await expect(terminalText(page)).toContainText('configmaps "leftover" not found');
  // On a phone, in the dark theme, the button is behind More, and on the screen once opened.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(reset).toBeHidden();
  await terminal(page).getByRole('button', { name: 'More' }).click();
  await expect(reset).toBeVisible();
  const box = await reset.boundingBox();
  expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(390);
  await screenshot(page, 'reset-namespace-390-dark');
});

test('a local sandbox offers no "Reset namespace"', async ({ page }) => {
  await page.goto('/pods/');
  await page
    .locator('kn-task[data-task-id="pod-with-port"]')
    .getByRole('button', { name: /^Check/ })
    .click();
  await expect(terminal(page)).toBeVisible();
  await expect(terminal(page).locator('.kn-dock-cluster-status')).not.toBeEmpty();
  await expect(terminal(page).getByRole('button', { name: 'Reset namespace' })).toBeHidden();
});
