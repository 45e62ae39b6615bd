// The Snapshots tab of a VM's details through `virtdesk serve` in Chromium, against a real test
// guest under TCG: a memory snapshot taken in the UI with QEMU's progress, a disk-only one, the
// tree with the current one marked and lazily fetched screens, the engine's refusals shown where
// they belong (a duplicate name beside the field, a stale delete in the page), a revert in place
// and a disk-only revert whose disk contents the test reads back, delete, a snapshot the CLI took,
// keyboard use of the tree, and a template that says why it has no buttons.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test, type Page } from '@playwright/test';
import { serialConsoleEndpoint } from '../../engine/vm/supervision/serial-mux';
import { vmRuntimePaths } from '../../engine/vm/runtime/paths';
import { SerialShell } from '../fixtures/storage/serial-shell';
import { READY_LINE_IN_STREAM, readMarker } from '../guest/guest';
import { openVmSession, type VmSession } from '../support/e2e-vm-session';
import { saveScreenshot } from '../support/screenshots';
import { fileSize, waitForSerial } from '../support/vm-helpers';

let session: VmSession;
let page: Page;
let vmId: string;
let serialLog: string;
let diskPath: string;
const cli = (...args: string[]) => session.cli(...args);
const run = promisify(execFile);

/** The snapshot tags inside the VM's disk image, read beside the running QEMU (-U). */
async function imageTags(): Promise<string[]> {
  const { stdout } = await run('qemu-img', ['snapshot', '-l', '-U', diskPath]);
  return [...stdout.matchAll(/\bvd-[0-9a-f-]+/g)].map((match) => match[0]).sort();
}

interface CliSnapshot {
  id: string;
  name: string;
  kind: string;
  vmState: string;
  current: boolean;
  parentId: string | null;
  description: string;
  hasThumbnail: boolean;
}

async function listed(): Promise<CliSnapshot[]> {
  return JSON.parse(await cli('snapshot', 'list', 'snap-vm', '--json')) as CliSnapshot[];
}

async function byName(name: string): Promise<CliSnapshot> {
  const found = (await listed()).find((snapshot) => snapshot.name === name);
  if (!found) throw new Error(`no snapshot ${name}`);
  return found;
}

async function vmState(): Promise<string> {
  return (JSON.parse(await cli('vm', 'show', 'snap-vm', '--json')) as { runtime: { state: string } }).runtime.state;
}

async function openSnapshots(id = vmId): Promise<void> {
  await page.evaluate((target) => (window.location.hash = `#/machines/${target}/snapshots`), id);
  await expect(page.getByTestId('tab-snapshots')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId(`snapshots-${id}`)).toBeVisible();
}

const node = (name: string) => page.locator(`[data-testid="snap-tree-${vmId}"] [role="treeitem"][data-name="${name}"]`);

async function select(name: string): Promise<void> {
  await node(name).click();
  await expect(node(name)).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId(`snap-details-name-${vmId}`)).toHaveText(name);
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  test.setTimeout(300_000);
  session = await openVmSession(browser);
  page = session.page;
  vmId = await session.createGuestVm('snap-vm', { memoryMiB: 320 });
  const shown = JSON.parse(await cli('vm', 'show', 'snap-vm', '--json')) as { runtime: { serialLog: string }; definition: { disks: { source: string }[] } };
  serialLog = shown.runtime.serialLog;
  diskPath = shown.definition.disks[0]!.source;
  await expect(page.getByTestId('machines-page')).toBeVisible();
});

// An exception in the page fails the test that caused it, not a later one.
test.afterEach(() => {
  expect(session.pageErrors).toEqual([]);
});

test.afterAll(async () => {
  await session?.close();
});

test('a machine without snapshots says what a snapshot is and how to take one', async () => {
  await openSnapshots();
  const empty = page.getByTestId(`snap-empty-${vmId}`);
  await expect(empty).toContainText('No snapshots yet');
  await expect(empty).toContainText('disks as they are at one moment');
  await expect(empty).toContainText('virtdesk snapshot create snap-vm NAME');
  await expect(page.getByTestId(`snap-take-${vmId}`)).toBeEnabled();

  // A shut-off machine has no memory to keep: the dialog offers disks only, and says why.
  await page.getByTestId(`snap-take-${vmId}`).click();
  const dialog = page.getByTestId('snap-take-dialog');
  await expect(dialog.getByTestId('snap-name')).toHaveValue('snapshot-1');
  await expect(dialog.getByTestId('snap-name')).toBeFocused();
  await expect(dialog.getByTestId('snap-kind-with-memory')).toBeDisabled();
  await expect(dialog.getByTestId('snap-kind-disk-only')).toBeChecked();
  await expect(dialog).toContainText('a shut-off machine has no memory to keep');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId(`snap-take-${vmId}`)).toBeFocused();
  expect(await listed()).toEqual([]);
});

test('a memory snapshot of the running guest, taken in the UI, shows its progress and its screen', async () => {
  test.setTimeout(240_000);
  await cli('vm', 'start', 'snap-vm');
  await waitForSerial(serialLog, READY_LINE_IN_STREAM, 120_000);
  await openSnapshots();

  await page.getByTestId(`snap-take-${vmId}`).click();
  const dialog = page.getByTestId('snap-take-dialog');
  await expect(dialog.getByTestId('snap-kind-with-memory')).toBeChecked();
  await dialog.getByTestId('snap-name').fill('booted');
  await dialog.getByTestId('snap-description').fill('Guest at its shell prompt');
  // Everything the progress region showed while the snapshot was taken.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { snapProgress: string[] }).snapProgress = seen;
    const record = () => {
      const region = document.querySelector('[data-testid="snap-take-progress"]');
      if (region) seen.push(region.getAttribute('data-fraction') ?? '');
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-fraction'] });
  });
  await dialog.getByTestId('snap-take-submit').click();
  await expect(dialog).toHaveCount(0, { timeout: 120_000 });
  await expect(page.getByTestId('toast-success')).toContainText('Took snapshot "booted" of snap-vm');

  const progress = await page.evaluate(() => (window as unknown as { snapProgress: string[] }).snapProgress);
  expect(progress.length).toBeGreaterThan(0);
  // QEMU's job progress came through vm.progress: the bar showed a fraction, and the last one was all done.
  const fractions = progress.filter((value) => value !== '').map(Number);
  expect(fractions.length).toBeGreaterThan(0);
  expect(fractions.every((fraction) => fraction >= 0 && fraction <= 1)).toBe(true);
  expect(fractions[fractions.length - 1]).toBe(1);

  const saved = await byName('booted');
  expect(saved).toMatchObject({ kind: 'with-memory', vmState: 'running', current: true, description: 'Guest at its shell prompt', hasThumbnail: true });
  await expect(node('booted')).toHaveAttribute('data-current', 'true');
  await expect(node('booted')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId(`snap-details-kind-${vmId}`)).toHaveAttribute('data-kind', 'with-memory');
  await expect(page.getByTestId(`snap-details-state-${vmId}`)).toHaveText('Guest running');
  await expect(page.getByTestId(`snap-details-description-${vmId}`)).toHaveText('Guest at its shell prompt');

  // The full-size screenshot, scaled down by CSS; the tree row's small one too.
  const large = page.getByTestId(`snap-details-thumb-${vmId}`);
  await expect(large).toHaveAttribute('data-state', 'ready');
  const sizes = await large.locator('img').evaluate((img: HTMLImageElement) => ({ natural: img.naturalWidth, shown: img.clientWidth }));
  expect(sizes.natural).toBeGreaterThanOrEqual(640);
  expect(sizes.shown).toBeLessThan(sizes.natural);
  await expect(page.getByTestId(`snap-thumb-${saved.id}`)).toHaveAttribute('data-state', 'ready');
});

test('a disk-only snapshot of the running guest hangs under the current one; a name the engine refuses is explained beside the field', async () => {
  await openSnapshots();
  await page.getByTestId(`snap-take-${vmId}`).click();
  const dialog = page.getByTestId('snap-take-dialog');
  await expect(dialog.getByTestId('snap-name')).toHaveValue('snapshot-2');

  // Checked as the person types, with the engine's own rule: nothing is sent.
  await dialog.getByTestId('snap-name').fill('-bad');
  await dialog.getByTestId('snap-name').blur();
  await expect(dialog.getByTestId('snap-name-problems')).toContainText('must not start with "-"');
  await dialog.getByTestId('snap-take-submit').click();
  await expect(dialog).toBeVisible();

  // A name already used: only the engine knows; its message and hint appear beside the name.
  await dialog.getByTestId('snap-name').fill('booted');
  await dialog.getByTestId('snap-kind-disk-only').check();
  await dialog.getByTestId('snap-take-submit').click();
  const problems = dialog.getByTestId('snap-name-problems');
  await expect(problems).toContainText('VM "snap-vm" already has a snapshot named "booted".');
  await expect(problems).toContainText('Choose another name');
  await expect(dialog.getByTestId('snap-name')).toHaveAttribute('aria-invalid', 'true');
  expect((await listed()).map((snapshot) => snapshot.name)).toEqual(['booted']);

  await dialog.getByTestId('snap-name').fill('disk-state');
  await expect(problems).toBeEmpty();
  await expect(dialog).toContainText('Crash-consistent');
  await dialog.getByTestId('snap-take-submit').click();
  await expect(dialog).toHaveCount(0, { timeout: 60_000 });

  const booted = await byName('booted');
  const diskState = await byName('disk-state');
  expect(diskState).toMatchObject({ kind: 'disk-only', vmState: 'running', current: true, parentId: booted.id });
  await expect(node('disk-state')).toHaveAttribute('aria-level', '2');
  await expect(node('disk-state')).toHaveAttribute('data-current', 'true');
  await expect(node('booted')).toHaveAttribute('data-current', 'false');
  await expect(node('booted')).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByTestId(`snap-details-kind-${vmId}`)).toContainText('crash-consistent');
  await expect(page.getByTestId(`snap-count-${vmId}`)).toHaveText('2 snapshots');
  await saveScreenshot(page, 'snapshots');
});

test('the tree is one tab stop: arrows move the selection, Left and Right close, open and walk the branches', async () => {
  await openSnapshots();
  await expect(page.locator(`[data-testid="snap-tree-${vmId}"]`)).toHaveAttribute('role', 'tree');
  await select('booted');
  await expect(node('booted')).toBeFocused();
  await expect(page.locator(`[data-testid="snap-tree-${vmId}"] [tabindex="0"]`)).toHaveCount(1);

  await page.keyboard.press('ArrowDown');
  await expect(node('disk-state')).toBeFocused();
  await expect(node('disk-state')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId(`snap-details-name-${vmId}`)).toHaveText('disk-state');
  await page.keyboard.press('ArrowLeft');
  await expect(node('booted')).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(node('booted')).toHaveAttribute('aria-expanded', 'false');
  await expect(node('disk-state')).toHaveCount(0);
  await page.keyboard.press('ArrowRight');
  await expect(node('booted')).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('ArrowRight');
  await expect(node('disk-state')).toBeFocused();
  await page.keyboard.press('Home');
  await expect(node('booted')).toBeFocused();

  // Closing the branch that holds the selection with the mouse moves the selection up to it.
  await select('disk-state');
  const booted = await byName('booted');
  await page.getByTestId(`snap-twisty-${booted.id}`).click();
  await expect(node('disk-state')).toHaveCount(0);
  await expect(node('booted')).toHaveAttribute('aria-selected', 'true');
  await page.getByTestId(`snap-twisty-${booted.id}`).click();
  await expect(node('disk-state')).toBeVisible();
  await expect(node('booted')).toHaveAttribute('aria-selected', 'true');
});

test('reverting to the memory snapshot says what is lost, and the running guest loads it in place', async () => {
  test.setTimeout(180_000);
  await openSnapshots();
  await select('booted');
  await page.getByTestId(`snap-revert-${vmId}`).click();
  const dialog = page.getByTestId('snap-revert-dialog');
  await expect(dialog).toContainText('Revert to "booted"?');
  await expect(dialog).toContainText('the running guest and everything in its memory');
  await expect(dialog).toContainText('every disk change made since snapshot "disk-state" was taken');
  // The safe choice has focus.
  await expect(dialog.getByTestId('snap-revert-dialog-cancel')).toBeFocused();
  await expect(dialog.getByTestId('snap-revert-start')).toHaveCount(0);
  await dialog.getByTestId('snap-revert-dialog-confirm').click();

  const outcome = page.getByTestId(`snap-outcome-${vmId}`);
  await expect(outcome).toHaveAttribute('data-mode', 'in-place', { timeout: 120_000 });
  await expect(outcome).toContainText('Reverted to "booted"');
  await expect(node('booted')).toHaveAttribute('data-current', 'true');
  await expect(node('disk-state')).toHaveAttribute('data-current', 'false');
  expect((await byName('booted')).current).toBe(true);
  expect(await vmState()).toBe('running');
});

test('a memory snapshot can be cancelled while QEMU saves it, and nothing of it is kept', async () => {
  test.setTimeout(240_000);
  // Memory that does not compress: the save then takes long enough to be cancelled.
  const shell = await SerialShell.open((await serialConsoleEndpoint(vmRuntimePaths(session.serve.home, vmId))).path);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await shell.run('dd if=/dev/urandom of=/tmp/fill bs=1M count=96 2>/dev/null; echo filled', 180_000)).toContain('filled');
  } finally {
    shell.close();
  }
  const before = (await listed()).map((snapshot) => snapshot.name);
  const tagsBefore = await imageTags();
  expect(tagsBefore).toHaveLength(before.length);

  await openSnapshots();
  await page.getByTestId(`snap-take-${vmId}`).click();
  const dialog = page.getByTestId('snap-take-dialog');
  await dialog.getByTestId('snap-name').fill('cancel-me');
  await expect(dialog.getByTestId('snap-kind-with-memory')).toBeChecked();
  await dialog.getByTestId('snap-take-submit').click();
  await expect(dialog.getByTestId('snap-take-progress')).toBeVisible();
  await expect(dialog.getByTestId('snap-take-cancel')).toHaveText('Cancel snapshot');
  await dialog.getByTestId('snap-take-cancel').click();
  await expect(dialog.getByTestId('snap-take-cancelled')).toBeVisible({ timeout: 30_000 });
  await expect(dialog.getByTestId('snap-take-submit')).toBeEnabled();
  await dialog.getByTestId('snap-take-cancel').click();
  await expect(dialog).toHaveCount(0);

  // The engine finishes cancelling after the call returned. A CLI snapshot waits for the VM's
  // snapshot lock, so once it is taken the cancelled one is settled: no record, no tag left.
  await cli('snapshot', 'create', 'snap-vm', 'after-cancel', '--disk-only');
  await cli('snapshot', 'delete', 'snap-vm', 'after-cancel');
  expect(await imageTags()).toEqual(tagsBefore);
  expect((await listed()).map((snapshot) => snapshot.name)).toEqual(before);
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(node('cancel-me')).toHaveCount(0);
  expect(await vmState()).toBe('running');
});

test('a snapshot the CLI took appears when the window gets focus back; a stale delete shows the engine’s message and hint', async () => {
  await openSnapshots();
  await cli('snapshot', 'create', 'snap-vm', 'from-cli', '--disk-only', '--description', 'made in a terminal');
  // What a person does after typing in a terminal: come back to the window.
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(node('from-cli')).toBeVisible();
  await select('from-cli');
  await expect(page.getByTestId(`snap-details-description-${vmId}`)).toHaveText('made in a terminal');

  // Deleted by the CLI while the page still shows it: the engine's refusal, with its hint, in the page.
  await cli('snapshot', 'delete', 'snap-vm', 'from-cli');
  await page.getByTestId(`snap-delete-${vmId}`).click();
  await page.getByTestId('snap-delete-dialog-confirm').click();
  const failure = page.getByTestId(`snap-failure-${vmId}`);
  await expect(failure).toContainText('Deleting snapshot "from-cli" failed: VM "snap-vm" has no snapshot');
  await expect(failure).toContainText('Its snapshots: "booted", "disk-state".');
  await expect(node('from-cli')).toHaveCount(0);
  await page.getByTestId(`snap-failure-dismiss-${vmId}`).click();
  await expect(failure).toHaveCount(0);
});

test('a disk-only revert of the shut-off machine puts its disk back, and can start it', async () => {
  test.setTimeout(300_000);
  // Boot 1 wrote the marker before both snapshots; a second boot writes boot=2.
  await cli('vm', 'stop', 'snap-vm');
  let offset = await fileSize(serialLog);
  await cli('vm', 'start', 'snap-vm');
  await waitForSerial(serialLog, READY_LINE_IN_STREAM, 120_000, offset);
  await cli('vm', 'stop', 'snap-vm');
  expect((await readMarker(diskPath))?.boot).toBe(2);

  await openSnapshots();
  await select('disk-state');
  await page.getByTestId(`snap-revert-${vmId}`).click();
  const dialog = page.getByTestId('snap-revert-dialog');
  await expect(dialog).not.toContainText('running guest');
  await expect(dialog).toContainText('Its disks go back to');
  await expect(dialog.getByTestId('snap-revert-start')).not.toBeChecked();
  await dialog.getByTestId('snap-revert-dialog-confirm').click();
  const outcome = page.getByTestId(`snap-outcome-${vmId}`);
  await expect(outcome).toHaveAttribute('data-mode', 'stopped', { timeout: 120_000 });
  await expect(outcome).toContainText('the machine is shut off');
  await expect(node('disk-state')).toHaveAttribute('data-current', 'true');
  expect((await readMarker(diskPath))?.boot).toBe(1);

  // Again, starting it afterwards: the guest boots from the reverted disk.
  offset = await fileSize(serialLog);
  await page.getByTestId(`snap-revert-${vmId}`).click();
  await dialog.getByTestId('snap-revert-start').check();
  await dialog.getByTestId('snap-revert-dialog-confirm').click();
  await expect(outcome).toHaveAttribute('data-mode', 'restarted', { timeout: 120_000 });
  await expect(outcome).toContainText('the machine was started from it');
  await waitForSerial(serialLog, READY_LINE_IN_STREAM, 120_000, offset);
  expect(await vmState()).toBe('running');
});

test('deleting a snapshot with a later one asks first, then the later one moves up', async () => {
  await openSnapshots();
  await select('booted');
  // The Delete key on the tree asks, as the button does.
  await page.keyboard.press('Delete');
  const dialog = page.getByTestId('snap-delete-dialog');
  await expect(dialog).toContainText('Delete snapshot "booted"?');
  await expect(dialog).toContainText('The later snapshot "disk-state" then follows nothing');
  await dialog.getByTestId('snap-delete-dialog-cancel').click();
  await expect(node('booted')).toBeVisible();
  expect((await listed()).length).toBe(2);

  await page.getByTestId(`snap-delete-${vmId}`).click();
  await dialog.getByTestId('snap-delete-dialog-confirm').click();
  await expect(page.getByTestId(`snap-outcome-${vmId}`)).toContainText('Deleted snapshot "booted"');
  await expect(node('booted')).toHaveCount(0);
  await expect(node('disk-state')).toHaveAttribute('aria-level', '1');
  const left = await listed();
  expect(left.map((snapshot) => snapshot.name)).toEqual(['disk-state']);
  expect(left[0]!.parentId).toBeNull();
});

test('a template says why it cannot have snapshots instead of offering buttons that fail', async () => {
  const templateId = await session.createGuestVm('snap-template', { memoryMiB: 128 });
  await cli('vm', 'template', 'snap-template');
  await openSnapshots(templateId);
  await expect(page.getByTestId(`snap-template-${templateId}`)).toContainText('snap-template is a template');
  await expect(page.getByTestId(`snap-template-${templateId}`)).toContainText('virtdesk vm template snap-template --unset');
  await expect(page.getByTestId(`snap-take-${templateId}`)).toHaveCount(0);
  await expect(page.getByTestId(`snap-empty-${templateId}`)).toContainText('No snapshots of this template');
});
