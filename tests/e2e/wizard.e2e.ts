// The New-VM wizard through `virtdesk serve` with the real engine: every choice is checked by
// vms.preview as it is typed, Finish creates the VM with vms.create and starts it, and the test
// guest really boots under TCG (its serial log shows the ready line).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test, type Page } from '@playwright/test';
import { READY_LINE_IN_STREAM, type TestGuest } from '../guest/guest';
import { saveScreenshot } from '../support/screenshots';
import { openVmSession, type VmSession } from '../support/e2e-vm-session';
import type { ServeProcess } from '../support/serve-process';
import { waitForSerial } from '../support/vm-helpers';

const run = promisify(execFile);
let session: VmSession;
let serve: ServeProcess;
let guest: TestGuest;
let page: Page;
let pageErrors: string[];
const cli = (...args: string[]) => session.cli(...args);

/** The id in a row's test id, found by the VM's name. */
async function rowId(name: string): Promise<string> {
  const row = page.locator(`[data-testid^="vm-row-"][data-name="${name}"]`);
  await expect(row).toBeVisible();
  return (await row.getAttribute('data-testid'))!.slice('vm-row-'.length);
}

/** The RPC methods the page calls while `work` runs (WebSocket frames, read through CDP). */
async function callsDuring(work: () => Promise<void>): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  const calls: string[] = [];
  cdp.on('Network.webSocketFrameSent', ({ response }) => {
    const message = JSON.parse(response.payloadData) as { t: string; method?: string };
    if (message.t === 'call' && message.method) calls.push(message.method);
  });
  await cdp.send('Network.enable');
  try {
    await work();
  } finally {
    await cdp.detach();
  }
  return calls;
}

/** The theme attribute the app's Theme class sets; the toolbar toggle is out of reach under a modal. */
async function withDarkTheme(work: () => Promise<void>): Promise<void> {
  await page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
  try {
    await work();
  } finally {
    await page.evaluate(() => (document.documentElement.dataset.theme = 'light'));
  }
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  session = await openVmSession(browser);
  ({ serve, guest, page, pageErrors } = session);
  await expect(page.getByTestId('machines-page')).toBeVisible();
});

test.afterAll(async () => {
  await session?.close();
});

test('a bad name shows the engine’s error beside the name field, and Finish creates nothing', async () => {
  await page.getByTestId('vms-new').click();
  const wizard = page.getByTestId('wizard');
  await expect(wizard).toBeVisible();
  await wizard.getByTestId('wiz-source-manual').check();
  await wizard.getByTestId('wiz-step-storage').click();
  await wizard.getByTestId('wiz-storage-none').check();
  await wizard.getByTestId('wiz-step-finish').click();
  await wizard.getByTestId('wiz-name').fill('bad name!');
  // The message is the model's own (engine/model/names.ts), delivered by vms.preview.
  await expect(wizard.getByTestId('wiz-name-problems')).toContainText('VM name "bad name!" may only contain letters, digits');
  await expect(wizard.getByTestId('wiz-name')).toHaveAttribute('aria-invalid', 'true');
  await wizard.getByTestId('wiz-finish').click();
  await expect(wizard).toBeVisible();
  await expect(wizard.getByTestId('wiz-status')).toContainText('to fix');

  // Fixing it clears the problem.
  await wizard.getByTestId('wiz-name').fill('good-name');
  await expect(wizard.getByTestId('wiz-name-problems')).toBeEmpty();
  await wizard.getByTestId('wiz-cancel').click();
  await expect(wizard).toBeHidden();
  expect(JSON.parse(await cli('vm', 'list', '--json'))).toEqual([]);
});

test('creates a direct-kernel VM through the wizard, starts it, shows live stats, and forces it off', async () => {
  await page.getByTestId('vms-new').click();
  const wizard = page.getByTestId('wizard');
  await wizard.getByTestId('wiz-source-kernel').check();
  await wizard.getByTestId('wiz-kernel').fill(guest.kernel);
  await wizard.getByTestId('wiz-initrd').fill(guest.initrd);
  await wizard.getByTestId('wiz-cmdline').fill(guest.cmdline);
  await wizard.getByTestId('wiz-next').click();

  // The engine's defaults are shown until the user types over them.
  await expect(wizard.getByTestId('wiz-memory')).not.toHaveValue('');
  await wizard.getByTestId('wiz-memory').fill('256');
  await wizard.getByTestId('wiz-next').click();
  await wizard.getByTestId('wiz-storage-none').check();
  await wizard.getByTestId('wiz-next').click();
  await wizard.getByTestId('wiz-name').fill('wizard-guest');
  await expect(wizard.getByTestId('wiz-status')).toHaveText('Ready to create');
  await expect(wizard.getByTestId('wiz-summary-memory')).toHaveText('256 MiB');
  await saveScreenshot(page, 'wizard');
  await withDarkTheme(() => saveScreenshot(page, 'wizard-dark'));

  await wizard.getByTestId('wiz-finish').click();
  await expect(wizard).toBeHidden();
  const id = await rowId('wizard-guest');
  const state = page.getByTestId(`vm-state-${id}`);
  await expect(state).toHaveAttribute('data-state', 'running', { timeout: 90_000 });

  // The guest really boots: its ready line arrives on the serial log.
  const shown = JSON.parse(await cli('vm', 'show', 'wizard-guest', '--json')) as {
    definition: { memory: { maximumMiB: number }; directKernel: { kernel: string; initrd: string; cmdline: string } | null; disks: unknown[] };
    runtime: { serialLog: string; accelerator: string };
  };
  expect(shown.definition.memory.maximumMiB).toBe(256);
  expect(shown.definition.directKernel).toEqual({ kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline });
  expect(shown.definition.disks).toEqual([]);
  expect(shown.runtime.accelerator).toBe('tcg');
  await waitForSerial(shown.runtime.serialLog, READY_LINE_IN_STREAM, 120_000);

  // vm.stats samples reach the sparklines.
  await expect
    .poll(async () => Number(await page.getByTestId(`vm-cpu-${id}`).getAttribute('data-samples')), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(2);
  await expect
    .poll(async () => Number(await page.getByTestId(`vm-mem-${id}`).getAttribute('data-samples')), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(2);

  // Force off asks first (confirmForceOff is on by default), then stops it.
  await page.getByTestId(`vm-row-${id}`).click();
  await page.getByTestId('vms-force-off').click();
  const confirm = page.getByTestId('confirm-force-off');
  await expect(confirm).toBeVisible();
  await confirm.getByTestId('confirm-force-off-confirm').click();
  await expect(state).toHaveAttribute('data-state', 'stopped', { timeout: 30_000 });
  expect((JSON.parse(await cli('vm', 'list', '--json')) as { state: string }[])[0]?.state).toBe('stopped');
  expect(pageErrors).toEqual([]);
});

test('installs from the test guest’s ISO onto a new disk image in the default pool, with the OS from osinfo', async () => {
  await page.getByTestId('vms-new').click();
  const wizard = page.getByTestId('wizard');
  await wizard.getByTestId('wiz-source-iso').check();
  await wizard.getByTestId('wiz-iso-path').fill(guest.iso);
  // The engine reads the ISO's label; the test guest is no OS osinfo knows.
  await expect(wizard.getByTestId('wiz-detection')).toContainText('No known OS detected');
  await expect(wizard.getByTestId('wiz-detection')).toContainText('VIRTDESK_GUEST');
  await wizard.getByTestId('wiz-next').click();

  // An OS from the osinfo list brings its recommended resources (Debian testing: 20 GiB disk).
  await wizard.getByTestId('wiz-os').fill('debiantesting');
  await expect(wizard.getByTestId('wiz-os-info')).toContainText('Debian testing');
  await wizard.getByTestId('wiz-memory').fill('256');
  await wizard.getByTestId('wiz-next').click();
  await expect(wizard.getByTestId('wiz-storage-new')).toBeChecked();
  await expect(wizard.getByTestId('wiz-disk-size')).toHaveValue('20');
  await expect(wizard.getByTestId('wiz-pool')).toHaveValue('default');
  await wizard.getByTestId('wiz-disk-size').fill('1');
  await wizard.getByTestId('wiz-next').click();
  await wizard.getByTestId('wiz-name').fill('iso-guest');
  await expect(wizard.getByTestId('wiz-status')).toHaveText('Ready to create');
  await expect(wizard.getByTestId('wiz-summary')).toContainText('new 1 GiB qcow2 image in pool default');
  // One call makes the image and the VM: the engine, not the page, runs that transaction.
  const calls = await callsDuring(async () => {
    await wizard.getByTestId('wiz-finish').click();
    await expect(wizard).toBeHidden({ timeout: 60_000 });
  });
  expect(calls.filter((method) => method.startsWith('storage.') || method === 'vms.create')).toEqual(['vms.create']);

  const id = await rowId('iso-guest');
  await expect(page.getByTestId(`vm-state-${id}`)).toHaveAttribute('data-state', 'running', { timeout: 90_000 });
  await expect(page.getByTestId(`vm-os-${id}`)).toHaveText('debiantesting');
  const shown = JSON.parse(await cli('vm', 'show', 'iso-guest', '--json')) as {
    definition: { osId: string; memory: { maximumMiB: number }; disks: { source: string; format: string }[]; cdroms: { media: string | null }[] };
    runtime: { serialLog: string };
  };
  expect(shown.definition.osId).toBe('debiantesting');
  expect(shown.definition.memory.maximumMiB).toBe(256);
  expect(shown.definition.cdroms.map((cdrom) => cdrom.media)).toEqual([guest.iso]);
  expect(shown.definition.disks).toHaveLength(1);
  expect(shown.definition.disks[0]).toMatchObject({ source: `${serve.home}/images/iso-guest.qcow2`, format: 'qcow2' });
  const { stdout } = await run('qemu-img', ['info', '--output=json', '-U', shown.definition.disks[0]!.source]);
  expect(JSON.parse(stdout)).toMatchObject({ format: 'qcow2', 'virtual-size': 1024 ** 3 });
  // The blank disk does not boot, so the firmware falls through to the ISO, whose GRUB boots the guest.
  await waitForSerial(shown.runtime.serialLog, READY_LINE_IN_STREAM, 150_000);
  await cli('vm', 'stop', 'iso-guest', '--force');
  await expect(page.getByTestId(`vm-state-${id}`)).toHaveAttribute('data-state', 'stopped', { timeout: 30_000 });
  expect(pageErrors).toEqual([]);
});

test('“customize before install” opens the new machine’s hardware instead of starting it', async () => {
  await page.evaluate(() => (window.location.hash = '#/machines'));
  await page.getByTestId('vms-new').click();
  const wizard = page.getByTestId('wizard');
  await wizard.getByTestId('wiz-source-pxe').check();
  await wizard.getByTestId('wiz-step-storage').click();
  await wizard.getByTestId('wiz-storage-none').check();
  await wizard.getByTestId('wiz-step-finish').click();
  await wizard.getByTestId('wiz-name').fill('custom-vm');
  await wizard.getByTestId('wiz-customize').check();
  await expect(wizard.getByTestId('wiz-finish')).toHaveText('Create and customize');
  await expect(wizard.getByTestId('wiz-status')).toHaveText('Ready to create');
  await wizard.getByTestId('wiz-finish').click();
  await expect(page.getByTestId('details-name')).toHaveText('custom-vm');
  await expect(page.getByTestId('tab-hardware')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('details-state')).toHaveAttribute('data-state', 'stopped');
  // PXE means: boot from the network once, then from disk.
  await page.getByTestId('hw-item-boot').click();
  await expect(page.getByTestId('hw-boot-once')).toHaveValue('network');
  const shown = JSON.parse(await cli('vm', 'show', 'custom-vm', '--json')) as { definition: { boot: { bootOnce: string | null } }; runtime: { state: string } };
  expect(shown.definition.boot.bootOnce).toBe('network');
  expect(shown.runtime.state).toBe('stopped');
});
