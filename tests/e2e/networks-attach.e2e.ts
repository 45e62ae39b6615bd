// A new VM on a virtual network, end to end as root on this host: a NAT network made on the
// Networks page, a direct-kernel test guest made in the New-VM wizard on that network, its
// address leased by the network's dnsmasq shown in the details' Overview, then the VM shut
// down and deleted, the network deleted, and no bridge, nft table or dnsmasq left behind.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { ensureTestGuest, type TestGuest } from '../guest/guest';
import { startServeProcess, type ServeProcess } from '../support/serve-process';

const run = promisify(execFile);
const isRoot = (process.geteuid?.() ?? 1) === 0;

let serve: ServeProcess;
let guest: TestGuest;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const netName = `e2e-att-${randomBytes(3).toString('hex')}`;
const vmName = `net-guest-${randomBytes(2).toString('hex')}`;
// A subnet nothing else on this host uses, picked per run.
const third = 16 + (randomBytes(1)[0]! % 200);
const subnet = `10.214.${third}.1/24`;

test.describe.configure({ mode: 'serial' });
test.skip(!isRoot, 'virtual networks need root here (elsewhere the engine asks through pkexec)');

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['dist/node/cli.cjs', ...args], { env: { ...process.env, VIRTDESK_HOME: serve.home }, timeout: 120_000 });
  return stdout;
}

async function hostState(bridge: string) {
  const links = (await run('ip', ['-br', 'link'])).stdout;
  const tables = (await run('nft', ['list', 'tables'])).stdout;
  const dnsmasq = (await run('pgrep', ['-af', 'dnsmasq']).catch(() => ({ stdout: '' }))).stdout;
  return {
    bridge: links.split('\n').some((line) => line.split(/\s+/)[0] === bridge),
    table: tables.includes(netName),
    dnsmasq: dnsmasq.includes(netName),
  };
}

test.beforeAll(async ({ browser }) => {
  guest = await ensureTestGuest();
  serve = await startServeProcess();
  context = await browser.newContext();
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(serve.url);
});

test.afterAll(async () => {
  // Whatever a failed run left: the VM forced off and deleted, the network and its host parts removed.
  if (serve) {
    await cli('vm', 'stop', vmName, '--force').catch(() => undefined);
    await cli('vm', 'delete', vmName).catch(() => undefined);
    await cli('net', 'delete', netName, '--force').catch(() => undefined);
  }
  await context?.close();
  await serve?.stop();
});

test('a VM made in the wizard on a new NAT network gets its address from the network', async () => {
  test.setTimeout(360_000);
  // The network, made on the Networks page.
  await page.getByTestId('nav-networks').click();
  await expect(page.getByTestId('networks-page')).toBeVisible();
  await page.getByTestId('network-create').click();
  const dialog = page.getByTestId('create-network-dialog');
  await dialog.getByTestId('create-network-name').fill(netName);
  await dialog.getByTestId('create-network-mode-nat').check();
  await dialog.getByTestId('create-network-ipv4').fill(subnet);
  await dialog.getByTestId('create-network-dhcp-range').check();
  await dialog.getByTestId('create-network-dhcp-start').fill(`10.214.${third}.50`);
  await dialog.getByTestId('create-network-dhcp-end').fill(`10.214.${third}.99`);
  await dialog.getByTestId('create-network-submit').click();
  await expect(dialog).toBeHidden({ timeout: 30_000 });
  const netRow = page.getByTestId(`network-row-${netName}`);
  await expect(netRow).toContainText('NAT');
  await expect(page.getByTestId(`network-state-${netName}`)).toHaveAttribute('data-state', 'active', { timeout: 30_000 });
  const bridge = (await netRow.locator('td').nth(4).textContent())?.trim() ?? '';
  expect(bridge).toMatch(/^vdbr\d+$/);
  expect(await hostState(bridge)).toEqual({ bridge: true, table: true, dnsmasq: true });

  // The VM, made in the wizard on that network; the wizard starts it.
  await page.getByTestId('nav-machines').click();
  await page.getByTestId('vms-new').click();
  const wizard = page.getByTestId('wizard');
  await wizard.getByTestId('wiz-source-kernel').check();
  await wizard.getByTestId('wiz-kernel').fill(guest.kernel);
  await wizard.getByTestId('wiz-initrd').fill(guest.initrd);
  await wizard.getByTestId('wiz-cmdline').fill(guest.cmdline);
  await wizard.getByTestId('wiz-next').click();
  await expect(wizard.getByTestId('wiz-memory')).not.toHaveValue('');
  await wizard.getByTestId('wiz-memory').fill('256');
  await wizard.getByTestId('wiz-next').click();
  await wizard.getByTestId('wiz-storage-none').check();
  await wizard.getByTestId('wiz-next').click();
  await wizard.getByTestId('wiz-name').fill(vmName);
  await wizard.getByTestId('wiz-network-network').check();
  await wizard.getByTestId('wiz-network-name').selectOption(netName);
  await expect(wizard.getByTestId('wiz-status')).toHaveText('Ready to create');
  await wizard.getByTestId('wiz-finish').click();
  await expect(wizard).toBeHidden({ timeout: 30_000 });

  const shown = JSON.parse(await cli('vm', 'show', vmName, '--json')) as {
    definition: { id: string; accelerator: string; memory: { maximumMiB: number }; nics: { network: { kind: string; name?: string } }[] };
  };
  const id = shown.definition.id;
  expect(shown.definition.memory.maximumMiB).toBe(256);
  expect(shown.definition.nics.map((nic) => nic.network)).toEqual([{ kind: 'network', name: netName }]);
  await expect(page.getByTestId(`vm-state-${id}`)).toHaveAttribute('data-state', 'running', { timeout: 120_000 });
  const runtime = JSON.parse(await cli('vm', 'show', vmName, '--json')) as { runtime: { accelerator: string } };
  expect(runtime.runtime.accelerator).toBe('tcg');

  // Its address, leased by the network's dnsmasq, appears in the Overview.
  await page.getByTestId(`vm-row-${id}`).dblclick();
  await expect(page.getByTestId('machine-page')).toHaveAttribute('data-vm-id', id);
  const ipPattern = new RegExp(`10\\.214\\.${third}\\.(5\\d|6\\d|7\\d|8\\d|9\\d)\\b`);
  await expect(page.getByTestId('ov-ips')).toHaveText(ipPattern, { timeout: 180_000 });

  // Shut down (the guest powers off on the ACPI button), then delete the VM from its page.
  await page.getByTestId('details-shutdown').click();
  await expect(page.getByTestId('details-state')).toHaveAttribute('data-state', 'stopped', { timeout: 90_000 });
  await page.getByTestId('details-delete').click();
  await page.getByTestId('delete-dialog').getByTestId('delete-dialog-confirm').click();
  await expect(page.getByTestId('machines-page')).toBeVisible();
  await expect(page.getByTestId(`vm-row-${id}`)).toHaveCount(0);

  // The network goes, and with it everything it made on the host.
  await page.getByTestId('nav-networks').click();
  await page.getByTestId(`network-delete-${netName}`).click();
  await page.getByTestId('delete-network-confirm').click();
  await expect(netRow).toBeHidden({ timeout: 30_000 });
  expect(await hostState(bridge)).toEqual({ bridge: false, table: false, dnsmasq: false });
  expect(JSON.parse(await cli('vm', 'list', '--json'))).toEqual([]);
  expect(pageErrors).toEqual([]);
});
