import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';

const folder = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

/** Writes docs/screenshots/<name>.png for the README when VIRTDESK_SCREENSHOTS=1; otherwise does nothing. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.VIRTDESK_SCREENSHOTS !== '1') return;
  await mkdir(folder, { recursive: true });
  await page.screenshot({ path: `${folder}${name}.png` });
}
