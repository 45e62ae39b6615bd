// The Images section through `virtdesk serve` with the real engine: volumes are created, resized,
// cloned and deleted with real qemu-img, and an ISO built here is identified from its label.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { startFlakyServer } from '../fixtures/storage/flaky-server';
import { saveScreenshot } from '../support/screenshots';
import { startServeProcess, type ServeProcess } from '../support/serve-process';

const run = promisify(execFile);
let serve: ServeProcess;
// The launch URL works once: one signed-in context for the whole file, a fresh page per test.
let context: BrowserContext;
let page: Page;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  serve = await startServeProcess();
  context = await browser.newContext();
  await (await context.newPage()).goto(serve.url);
});

test.beforeEach(async () => {
  page = await context.newPage();
});

test.afterEach(async () => {
  await page.close();
});

test.afterAll(async () => {
  await context?.close();
  await serve?.stop();
});

async function openImages(page: Page) {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${serve.origin}/#/images`);
  await expect(page.getByTestId('images-page')).toBeVisible();
  await expect(page.getByTestId('pool-default')).toContainText('free');
  return errors;
}

async function qemuImgInfo(path: string): Promise<{ format: string; 'virtual-size': number; 'backing-filename'?: string }> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', '-U', path]);
  return JSON.parse(stdout) as { format: string; 'virtual-size': number; 'backing-filename'?: string };
}

test('create, resize, clone and delete a disk image', async () => {
  const errors = await openImages(page);
  const pool = join(serve.home, 'images');
  await expect(page.getByTestId('volume-empty')).toBeVisible();

  // Create: 2 GiB qcow2.
  await page.getByTestId('volume-create').click();
  const create = page.getByTestId('create-volume-dialog');
  await create.getByTestId('create-volume-name').fill('web');
  await create.getByTestId('create-volume-size').fill('2');
  await create.getByTestId('create-volume-submit').click();
  await expect(create).toBeHidden();
  const row = page.getByTestId('volume-row-web.qcow2');
  await expect(row).toBeVisible();
  await expect(page.getByTestId('volume-format-web.qcow2')).toHaveText('qcow2');
  await expect(page.getByTestId('volume-size-web.qcow2')).toHaveText('2 GiB');
  expect(await qemuImgInfo(join(pool, 'web.qcow2'))).toMatchObject({ format: 'qcow2', 'virtual-size': 2 * 1024 ** 3 });

  // A name that exists is refused with the engine's words, and the dialog stays open.
  await page.getByTestId('volume-create').click();
  await create.getByTestId('create-volume-name').fill('web.qcow2');
  await create.getByTestId('create-volume-size').fill('1');
  await create.getByTestId('create-volume-submit').click();
  await expect(create.getByTestId('create-volume-error')).toContainText('already exists');
  await create.getByRole('button', { name: 'Cancel' }).click();

  // Resize to 3 GiB.
  await page.getByTestId('volume-resize-web.qcow2').click();
  const resize = page.getByTestId('resize-volume-dialog');
  await expect(resize.getByTestId('resize-volume-size')).toHaveValue('2');
  await resize.getByTestId('resize-volume-size').fill('3');
  await resize.getByTestId('resize-volume-submit').click();
  await expect(resize).toBeHidden();
  await expect(page.getByTestId('volume-size-web.qcow2')).toHaveText('3 GiB');
  expect((await qemuImgInfo(join(pool, 'web.qcow2')))['virtual-size']).toBe(3 * 1024 ** 3);

  // Full clone, tracked as an operation with a progress bar until it is done.
  await page.getByTestId('volume-clone-web.qcow2').click();
  const clone = page.getByTestId('clone-volume-dialog');
  await expect(clone.getByTestId('clone-volume-name')).toHaveValue('web-clone.qcow2');
  await clone.getByTestId('clone-volume-submit').click();
  await expect(page.getByTestId('volume-row-web-clone.qcow2')).toBeVisible();
  expect(await qemuImgInfo(join(pool, 'web-clone.qcow2'))).toMatchObject({ format: 'qcow2', 'virtual-size': 3 * 1024 ** 3 });

  // Linked clone: the original now shows it is the base of one.
  await page.getByTestId('volume-clone-web.qcow2').click();
  await clone.getByTestId('clone-volume-name').fill('web-overlay.qcow2');
  await clone.getByTestId('clone-volume-linked').check();
  await clone.getByTestId('clone-volume-submit').click();
  await expect(page.getByTestId('volume-row-web-overlay.qcow2')).toContainText('linked clone of web.qcow2');
  await expect(page.getByTestId('volume-users-web.qcow2')).toHaveText('1 linked clone');
  expect((await qemuImgInfo(join(pool, 'web-overlay.qcow2')))['backing-filename']).toBe(join(pool, 'web.qcow2'));
  await expect(page.getByTestId('operations')).toBeHidden({ timeout: 10_000 });
  await saveScreenshot(page, 'images');

  // Deleting the base of a linked clone is refused by the engine, in words.
  await page.getByTestId('volume-delete-web.qcow2').click();
  const remove = page.getByTestId('delete-volume-dialog');
  await remove.getByTestId('delete-volume-confirm').click();
  await expect(remove.getByTestId('delete-volume-error')).toContainText('web-overlay.qcow2');
  await remove.getByRole('button', { name: 'Cancel' }).click();

  for (const name of ['web-overlay.qcow2', 'web-clone.qcow2', 'web.qcow2']) {
    await page.getByTestId(`volume-delete-${name}`).click();
    await remove.getByTestId('delete-volume-confirm').click();
    await expect(page.getByTestId(`volume-row-${name}`)).toBeHidden();
  }
  await expect(page.getByTestId('volume-empty')).toBeVisible();
  expect(await readdir(pool)).toEqual([]);
  expect(errors).toEqual([]);
});

test('a full clone shows a progress bar while qemu-img copies', async () => {
  await openImages(page);
  // 256 MiB of real data, so the copy takes long enough to be seen.
  const source = join(serve.home, 'images', 'data.raw');
  await run('dd', ['if=/dev/urandom', `of=${source}`, 'bs=1M', 'count=256', 'status=none']);
  await page.getByTestId('volume-refresh').click();
  await page.getByTestId('volume-clone-data.raw').click();
  await page.getByTestId('clone-volume-submit').click();
  const operation = page.getByTestId('operation').filter({ hasText: 'data-clone.raw' });
  await expect(operation.getByTestId('operation-progress')).toBeVisible();
  await expect(page.getByTestId('volume-row-data-clone.raw')).toBeVisible({ timeout: 60_000 });
  await expect(operation).toHaveAttribute('data-state', 'done');
});

test('add an ISO and see the OS detected from its volume label', async () => {
  // Under the default pool's folder: a browser session names files only inside the allowed folders.
  const tree = join(serve.home, 'images', 'local', 'iso-tree');
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, 'README.TXT'), 'Debian GNU/Linux\n');
  const iso = join(serve.home, 'images', 'local', 'debian-11.6.0-amd64-netinst.iso');
  await run('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'Debian 11.6.0 amd64 n', '-o', iso, tree]);

  await openImages(page);
  await page.getByTestId('images-tab-isos').click();
  await page.getByTestId('iso-add').click();
  const dialog = page.getByTestId('add-iso-dialog');
  await dialog.getByTestId('add-iso-path').fill(iso);
  await dialog.getByTestId('add-iso-path').press('Tab');
  await expect(dialog.getByTestId('add-iso-preview')).toContainText('Debian 11');
  await dialog.getByTestId('add-iso-submit').click();
  await expect(dialog).toBeHidden();
  const os = page.getByTestId('iso-os-debian-11.6.0-amd64-netinst.iso');
  await expect(os).toHaveAttribute('data-os-id', 'debian11');
  await expect(os).toContainText('Debian 11');
  await expect(page.getByTestId('iso-row-debian-11.6.0-amd64-netinst.iso')).toContainText('Debian 11.6.0 amd64 n');

  // A file that is not an ISO is refused with the engine's explanation.
  await page.getByTestId('iso-add').click();
  await dialog.getByTestId('add-iso-path').fill(join(tree, 'README.TXT'));
  await dialog.getByTestId('add-iso-submit').click();
  await expect(dialog.getByTestId('add-iso-error')).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  await page.getByTestId('iso-remove-debian-11.6.0-amd64-netinst.iso').click();
  await expect(page.getByTestId('iso-row-debian-11.6.0-amd64-netinst.iso')).toBeHidden();
});

async function buildDebianIso(name: string, padBytes: number): Promise<string> {
  const tree = join(serve.home, `${name}-tree`);
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, 'PAD.BIN'), randomBytes(padBytes));
  const iso = join(serve.home, name);
  await run('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'Debian 11.6.0 amd64 n', '-o', iso, tree]);
  return iso;
}

test('download an ISO over HTTP with progress, and cancel another mid-way', async () => {
  const iso = await readFile(await buildDebianIso('dl.iso', 3 * 1024 * 1024));
  const web = await startFlakyServer({
    '/debian-11.6.0-amd64-netinst.iso': { body: iso, throttle: 24 * 1024 },
    '/slow.iso': { body: iso, throttle: 2 * 1024 },
  });
  try {
    await openImages(page);
    await page.getByTestId('images-tab-isos').click();
    await page.getByTestId('iso-download').click();
    await page.getByTestId('download-url').fill(web.url('/debian-11.6.0-amd64-netinst.iso'));
    await page.getByTestId('download-submit').click();
    const operation = page.getByTestId('operation').filter({ hasText: 'debian-11.6.0-amd64-netinst.iso' });
    // Bytes so far of the total, with a determinate bar.
    await expect(operation).toContainText(/of 3(\.\d)? MiB/);
    await expect(operation.getByTestId('operation-progress')).toHaveAttribute('aria-valuenow', /\d+/);
    await expect(page.getByTestId('iso-os-debian-11.6.0-amd64-netinst.iso')).toHaveAttribute('data-os-id', 'debian11', { timeout: 60_000 });
    expect(await readdir(join(serve.home, 'isos'))).toEqual(['debian-11.6.0-amd64-netinst.iso']);

    await page.getByTestId('iso-download').click();
    await page.getByTestId('download-url').fill(web.url('/slow.iso'));
    await page.getByTestId('download-submit').click();
    const slow = page.getByTestId('operation').filter({ hasText: 'slow.iso' });
    await expect(slow).toContainText('KiB of 3');
    await slow.getByTestId('operation-cancel').click();
    await expect(slow.getByTestId('operation-error')).toHaveText('Cancelled.');
    await expect(page.getByTestId('iso-row-slow.iso')).toHaveCount(0);
    // The engine stopped too: no partial file stays in the library's folder.
    await expect.poll(async () => (await readdir(join(serve.home, 'isos'))).sort(), { timeout: 10_000 }).toEqual(['debian-11.6.0-amd64-netinst.iso']);
  } finally {
    await web.close();
  }
});

test('import a disk image from elsewhere on the host', async () => {
  // Elsewhere, in a folder the user allowed on the host (the browser cannot allow it itself).
  const elsewhere = join(serve.home, 'elsewhere');
  await mkdir(elsewhere, { recursive: true });
  await run(process.execPath, ['dist/node/cli.cjs', 'folder', 'allow', elsewhere], { env: { ...process.env, VIRTDESK_HOME: serve.home } });
  const source = join(elsewhere, 'outside.qcow2');
  await run('qemu-img', ['create', '-f', 'qcow2', source, '1G']);
  await openImages(page);
  await page.getByTestId('volume-import').click();
  await page.getByTestId('import-volume-path').fill(source);
  await page.getByTestId('import-volume-name').fill('imported.qcow2');
  await page.getByTestId('import-volume-submit').click();
  await expect(page.getByTestId('volume-size-imported.qcow2')).toHaveText('1 GiB');
  // Copied: the original stays where it was.
  expect(await readdir(elsewhere)).toContain('outside.qcow2');
  expect(await readdir(join(serve.home, 'images'))).toContain('imported.qcow2');
});
