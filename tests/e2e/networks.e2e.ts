// The Networks section through `virtdesk serve` with the real engine, as root on this host: a
// network created in the UI gets its bridge, dnsmasq and nft table; after delete none is left.
// (Isolated mode keeps the shared host's forwarding settings untouched.)
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { saveScreenshot } from '../support/screenshots';
import { startServeProcess, type ServeProcess } from '../support/serve-process';

const run = promisify(execFile);
const isRoot = (process.geteuid?.() ?? 1) === 0;

let serve: ServeProcess;
let context: BrowserContext;
let page: Page;
const name = `e2e-${randomBytes(3).toString('hex')}`;
// A subnet nothing else on this host uses, picked per run.
const third = 16 + (randomBytes(1)[0]! % 200);
const subnet = `10.213.${third}.1/24`;

test.describe.configure({ mode: 'serial' });
test.skip(!isRoot, 'virtual networks need root here (elsewhere the engine asks through pkexec)');

test.beforeAll(async ({ browser }) => {
  serve = await startServeProcess();
  context = await browser.newContext();
  page = await context.newPage();
  await page.goto(serve.url);
});

test.afterAll(async () => {
  // Whatever a failed run left: the CLI removes the network and all it made on the host.
  if (serve) await run(process.execPath, ['dist/node/cli.cjs', 'net', 'delete', name, '--force'], { env: { ...process.env, VIRTDESK_HOME: serve.home } }).catch(() => undefined);
  await context?.close();
  await serve?.stop();
});

async function hostState(bridge: string) {
  const links = (await run('ip', ['-br', 'link'])).stdout;
  const tables = (await run('nft', ['list', 'tables'])).stdout;
  const dnsmasq = (await run('pgrep', ['-af', 'dnsmasq']).catch(() => ({ stdout: '' }))).stdout;
  return {
    bridge: links.split('\n').some((line) => line.split(/\s+/)[0] === bridge),
    table: tables.includes(name),
    dnsmasq: dnsmasq.includes(name),
  };
}

test('create a network, start and stop it, and delete it without leftovers', async () => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.getByTestId('nav-networks').click();
  await expect(page.getByTestId('networks-page')).toBeVisible();
  await expect(page.getByTestId('network-empty')).toBeVisible();
  await expect(page.getByTestId('network-privileges')).toBeHidden();

  await page.getByTestId('network-create').click();
  const dialog = page.getByTestId('create-network-dialog');
  await dialog.getByTestId('create-network-name').fill(name);
  await dialog.getByTestId('create-network-mode-isolated').check();
  await dialog.getByTestId('create-network-ipv4').fill(subnet);
  await dialog.getByTestId('create-network-dhcp-range').check();
  await dialog.getByTestId('create-network-dhcp-start').fill(`10.213.${third}.50`);
  await dialog.getByTestId('create-network-dhcp-end').fill(`10.213.${third}.99`);
  await dialog.getByTestId('create-network-submit').click();
  await expect(dialog).toBeHidden({ timeout: 30_000 });

  const row = page.getByTestId(`network-row-${name}`);
  await expect(row).toContainText('Isolated');
  await expect(row).toContainText(`10.213.${third}.50 – 10.213.${third}.99`);
  await expect(page.getByTestId(`network-subnet-${name}`)).toHaveText(subnet);
  await expect(page.getByTestId(`network-state-${name}`)).toHaveAttribute('data-state', 'active');
  const bridge = (await row.locator('td').nth(4).textContent())?.trim() ?? '';
  expect(bridge).toMatch(/^vdbr\d+$/);
  expect(await hostState(bridge)).toEqual({ bridge: true, table: true, dnsmasq: true });
  await expect(page.getByTestId('network-leases')).toContainText(`Leases of ${name}`);
  await expect(page.getByTestId('network-leases-empty')).toBeVisible();
  await saveScreenshot(page, 'networks');

  await page.getByTestId(`network-stop-${name}`).click();
  await expect(page.getByTestId(`network-state-${name}`)).toHaveAttribute('data-state', 'inactive', { timeout: 30_000 });
  expect(await hostState(bridge)).toEqual({ bridge: false, table: false, dnsmasq: false });

  await page.getByTestId(`network-start-${name}`).click();
  await expect(page.getByTestId(`network-state-${name}`)).toHaveAttribute('data-state', 'active', { timeout: 30_000 });
  expect((await hostState(bridge)).bridge).toBe(true);

  await page.getByTestId(`network-delete-${name}`).click();
  await page.getByTestId('delete-network-confirm').click();
  await expect(row).toBeHidden({ timeout: 30_000 });
  await expect(page.getByTestId('network-empty')).toBeVisible();
  expect(await hostState(bridge)).toEqual({ bridge: false, table: false, dnsmasq: false });
  expect(errors).toEqual([]);
});

test('a bad DHCP range is refused with the engine’s explanation', async () => {
  await page.getByTestId('network-create').click();
  const dialog = page.getByTestId('create-network-dialog');
  await dialog.getByTestId('create-network-name').fill(name);
  await dialog.getByTestId('create-network-ipv4').fill(subnet);
  await dialog.getByTestId('create-network-dhcp-range').check();
  await dialog.getByTestId('create-network-dhcp-start').fill('10.99.0.10');
  await dialog.getByTestId('create-network-dhcp-end').fill('10.99.0.20');
  await dialog.getByTestId('create-network-submit').click();
  await expect(dialog.getByTestId('create-network-error')).toContainText('10.99.0.10');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('network-empty')).toBeVisible();
});
