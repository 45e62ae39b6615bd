// Tags (groups) of VMs through `virtdesk serve` with the real engine: VMs tagged by the CLI show
// their tags as chips, the tag filter and the search narrow the list, "Group by tag" puts a VM
// under each of its tags (untagged ones under "No tag"), and tags edited in the details'
// General editor reach the list without a reload.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { saveScreenshot } from '../support/screenshots';
import { startServeProcess, type ServeProcess } from '../support/serve-process';

const run = promisify(execFile);

let serve: ServeProcess;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const ids: Record<string, string> = {};
let lab = 'Lab';

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['dist/node/cli.cjs', ...args], { env: { ...process.env, VIRTDESK_HOME: serve.home }, timeout: 120_000 });
  return stdout;
}

const rowNames = (scope: ReturnType<Page['locator']> | Page) =>
  scope.locator('[data-testid^="vm-row-"]').evaluateAll((elements) => elements.map((element) => element.getAttribute('data-name')));

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  serve = await startServeProcess();
  for (const [name, tags] of [
    ['web-1', ['web', 'Lab']],
    ['db-1', ['db', 'lab']],
    ['plain', []],
  ] as const) {
    ids[name] = (JSON.parse(await cli('vm', 'create', name, '--net', 'none', ...tags.flatMap((tag) => ['--tag', tag]), '--json')) as { id: string }).id;
  }
  context = await browser.newContext();
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(serve.url);
  await expect(page.getByTestId(`vm-row-${ids['plain']}`)).toBeVisible({ timeout: 15_000 });
});

test.afterAll(async () => {
  await context?.close();
  await serve?.stop();
});

test('the CLI takes --tag and lists tags', async () => {
  expect(await cli('vm', 'list')).toMatch(/web-1\s+stopped.*web, Lab/);
  const listed = JSON.parse(await cli('vm', 'list', '--json')) as { name: string; tags: string[] }[];
  expect(Object.fromEntries(listed.map((vm) => [vm.name, vm.tags]))).toEqual({ 'web-1': ['web', 'Lab'], 'db-1': ['db', 'lab'], plain: [] });
  await expect(run(process.execPath, ['dist/node/cli.cjs', 'vm', 'create', 'bad', '--tag', 'a/b'], { env: { ...process.env, VIRTDESK_HOME: serve.home } })).rejects.toMatchObject({
    stderr: expect.stringMatching(/tags\.0: a tag may hold only letters/),
  });
});

test('rows show tags as chips; filter and search by tag', async () => {
  const web = ids['web-1']!;
  await expect(page.getByTestId(`vm-tags-${web}`)).toHaveText(/web\s*Lab/);
  await expect(page.getByTestId(`vm-tags-${ids['plain']}`)).toHaveCount(0);

  // Tags in use, once each ignoring case ("Lab" and "lab" are one group, spelled as first listed), sorted.
  const options = await page.getByTestId('vms-filter-tag').locator('option').allTextContents();
  expect(options.map((option) => option.toLowerCase())).toEqual(['any tag', 'db', 'lab', 'web']);
  lab = options.find((option) => option.toLowerCase() === 'lab')!;

  await page.getByTestId('vms-filter-tag').selectOption(lab);
  await expect.poll(() => rowNames(page)).toEqual(expect.arrayContaining(['web-1', 'db-1']));
  expect(await rowNames(page)).toHaveLength(2);
  await expect(page.getByTestId('vms-count')).toHaveText('2 of 3 machines');
  await page.getByTestId('vms-filter-tag').selectOption('db');
  await expect.poll(() => rowNames(page)).toEqual(['db-1']);
  await page.getByTestId('vms-filter-clear').click();

  await page.getByTestId('vms-search').fill('web');
  await expect.poll(() => rowNames(page)).toEqual(['web-1']);
  await page.getByTestId('vms-search').fill('');
  await expect.poll(async () => (await rowNames(page)).length).toBe(3);
});

test('group by tag puts a VM under each of its tags and untagged ones under "No tag"', async () => {
  await page.getByTestId('vms-group-by-tag').check();
  const heads = page.locator('[data-testid^="vm-group-head-"]');
  await expect(heads).toHaveCount(4);
  expect((await heads.allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim())).toEqual(['db (1)', `${lab} (2)`, 'web (1)', 'No tag (1)']);
  expect(await rowNames(page.getByTestId('vm-group-lab'))).toEqual(expect.arrayContaining(['web-1', 'db-1']));
  expect(await rowNames(page.getByTestId('vm-group-web'))).toEqual(['web-1']);
  expect(await rowNames(page.getByTestId('vm-group-untagged'))).toEqual(['plain']);
  // Element ids stay unique although web-1 shows twice.
  const htmlIds = await page.locator('[data-testid^="vm-row-"]').evaluateAll((elements) => elements.map((element) => element.id));
  expect(new Set(htmlIds).size).toBe(htmlIds.length);
  await saveScreenshot(page, 'machines-tags');
  // The tag filter and grouping combine.
  await page.getByTestId('vms-filter-tag').selectOption('web');
  await expect(heads).toHaveCount(2);
  await page.getByTestId('vms-filter-clear').click();
});

test('tags edited in the General editor reach the list', async () => {
  const plain = ids['plain']!;
  await page.evaluate((id) => (window.location.hash = `#/machines/${id}/hardware`), plain);
  await expect(page.getByTestId('machine-page')).toHaveAttribute('data-vm-id', plain);
  await page.getByTestId('hw-item-general').click();
  const tags = page.getByTestId('hw-general-tags');
  await expect(tags).toContainText('No tags');
  await tags.getByTestId('hw-general-tags-input').fill('web');
  await tags.getByTestId('hw-general-tags-input').press('Enter');
  await tags.getByTestId('hw-general-tags-input').fill('WEB');
  await tags.getByTestId('hw-general-tags-add').click();
  await expect(tags.getByTestId('hw-general-tags-problem')).toContainText('already has the tag');
  await tags.getByTestId('hw-general-tags-input').fill('staging');
  await tags.getByTestId('hw-general-tags-add').click();
  await expect(tags.getByTestId('hw-general-tags-chip-staging')).toBeVisible();
  await page.getByTestId('hw-general-apply').click();
  await expect(page.getByTestId('toast-success').last()).toContainText('Saved');
  await expect(page.getByTestId('hw-general-pending')).toHaveCount(0);
  const shown = JSON.parse(await cli('vm', 'show', 'plain', '--json')) as { definition: { tags: string[] } };
  expect(shown.definition.tags).toEqual(['web', 'staging']);

  // Remove one again; the array replaces the stored one.
  await tags.getByTestId('hw-general-tags-remove-web').click();
  await page.getByTestId('hw-general-apply').click();
  await expect.poll(async () => (JSON.parse(await cli('vm', 'show', 'plain', '--json')) as { definition: { tags: string[] } }).definition.tags).toEqual(['staging']);

  await page.evaluate(() => (window.location.hash = '#/machines'));
  await expect(page.getByTestId(`vm-tags-${plain}`)).toHaveText('staging');
  await expect(page.getByTestId('vm-group-untagged')).toHaveCount(0);
  expect(await rowNames(page.getByTestId('vm-group-staging'))).toEqual(['plain']);
  expect(pageErrors).toEqual([]);
});
