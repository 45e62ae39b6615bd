import { expect, test } from '@playwright/test';
import { startServeProcess } from '../support/serve-process';

test('when the session ends the page says so and asks for a new launch link, which works', async ({ browser }) => {
  // Sessions of 4.5 s at most, so that this one ends while the page is open.
  const serve = await startServeProcess({ args: ['--session-hours', String(4.5 / 3600)] });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(serve.url);
    await expect(page.getByTestId('connection-status')).toHaveAttribute('data-status', 'connected');
    const ended = page.getByTestId('session-ended');
    await expect(ended).toBeVisible({ timeout: 15_000 });
    await expect(ended).toContainText('Your Virtdesk session has ended');
    await expect(ended).toContainText('Open a new launch link');
    await expect(page.getByTestId('connection-status')).toHaveAttribute('data-status', 'session-ended');

    // A reload now gets the sign-in text, not a broken page.
    expect((await page.reload())?.status()).toBe(401);
    await expect(page.locator('body')).toContainText('your session ended');

    // serve printed a fresh launch URL, and it signs in.
    await expect.poll(() => /A new launch URL: (\S+)/.exec(serve.output())?.[1]).toBeTruthy();
    const fresh = /A new launch URL: (\S+)/.exec(serve.output())![1]!;
    await page.goto(fresh);
    await expect(page.getByTestId('connection-status')).toHaveAttribute('data-status', 'connected');
    await context.close();
  } finally {
    await serve.stop();
  }
});
