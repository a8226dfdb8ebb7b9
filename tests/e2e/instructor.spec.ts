/**
 * The instructor's page: a live grid of participants, who is failing, and a read-only watch.
 */
import { expect, test } from '@playwright/test';
import { ADMIN_TOKEN } from '../../playwright.config.ts';

test('the instructor sees a participant fail a snippet, and watches their terminal', async ({
  browser,
}) => {
  const instructor = await browser.newPage();
  await instructor.goto('/instructor/');
  await instructor.getByLabel('Admin token').fill('wrong-token-wrong-token');
  await instructor.getByRole('button', { name: 'Connect' }).click();
  await expect(instructor.locator('.kn-admin-status')).toContainText('admin token');
  await instructor.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await instructor.getByRole('button', { name: 'Connect' }).click();
  await expect(instructor.locator('.kn-admin-status')).toHaveText('Connected.');

  const sessions = () =>
    instructor.request
      .get('/api/admin/sessions', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      .then((r) => r.json() as Promise<unknown[]>);
  const before = (await sessions()).length;

  // A participant, in another browser context, runs a block that fails.
  const participantContext = await browser.newContext();
  const participant = await participantContext.newPage();
  await participant.goto('/pods/');
  await participant.getByLabel('pod_name', { exact: true }).fill('no-such-pod-here');
  const describe = participant.locator('kn-snippet', { hasText: 'kubectl describe pod' }).first();
  await describe.getByRole('button', { name: /^Run:/ }).click();
  await expect(describe).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });

  // One page, one session, however many things asked to connect at once.
  expect((await sessions()).length).toBe(before + 1);

  const id = await participant.evaluate(
    () =>
      JSON.parse(localStorage.getItem(`kubenotes:session:${location.origin}`) ?? '{}').id as string,
  );
  const row = instructor.locator(`.kn-admin-grid tr[data-id="${id}"]`);
  await expect(row).toHaveAttribute('data-state', 'failed');
  await expect(row).toContainText('/pods/');
  await expect(row).toContainText('exit 1');
  await row.getByRole('button', { name: /^Watch/ }).click();
  const watch = instructor.getByRole('region', { name: 'Watching' });
  await expect(watch.locator('.xterm-rows')).toContainText('no-such-pod-here', { timeout: 15_000 });

  // What the participant types next appears in the watcher's terminal.
  await participant.locator('kn-terminal-dock .xterm').click();
  await participant.keyboard.type('echo helped-by-instructor\n');
  await expect(watch.locator('.xterm-rows')).toContainText('helped-by-instructor');
  await participantContext.close();
});
