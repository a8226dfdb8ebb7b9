/**
 * What a block says about its run: one clear message, in words and with its exit code.
 */
import { expect, test } from '@playwright/test';
import { openPage } from './reader-pages.ts';

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
