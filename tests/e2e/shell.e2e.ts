import { expect, test } from '@playwright/test';
import { startServeProcess, type ServeProcess } from '../support/serve-process';

let serve: ServeProcess;

test.beforeAll(async () => {
  serve = await startServeProcess();
});

test.afterAll(async () => {
  await serve?.stop();
});

test('the served UI renders and its API client connects to the host', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });

  await page.goto(serve.url);
  await expect(page).toHaveURL(`${serve.origin}/`);
  await expect(page.getByRole('heading', { name: 'Virtdesk' })).toBeVisible();
  const status = page.getByTestId('connection-status');
  await expect(status).toHaveAttribute('data-status', 'connected');
  await expect(status).toContainText('engine 0.1.0');
  expect(errors).toEqual([]);
});

test('the launch URL works once: a second browser with the same URL is refused', async ({ browser }) => {
  const own = await startServeProcess();
  try {
    const first = await browser.newContext();
    expect((await (await first.newPage()).goto(own.url))?.status()).toBe(200);
    const second = await browser.newContext();
    const page = await second.newPage();
    expect((await page.goto(own.url))?.status()).toBe(401);
    await expect(page.locator('body')).toContainText('one-time token');
    await Promise.all([first.close(), second.close()]);
  } finally {
    await own.stop();
  }
});
