// The VM list with 300 machines through `virtdesk serve` with the real engine: only a window of
// rows is in the DOM while the grid tells assistive technology the full size, the scrollbar is
// as long as all rows, the keyboard reaches the last VM (End, PageUp/PageDown, type-ahead) and
// scrolls it into view, the selection survives scrolling, sorting and filtering work, a VM found
// by the search opens with Enter and back from its details the list is where it was; a running
// test guest at the end of the list has no graphs in the DOM while off screen, and its history
// is there when it scrolls into view.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { openVmSession, type VmSession } from '../support/e2e-vm-session';
import { saveScreenshot } from '../support/screenshots';

const COUNT = 300;
/** Made over RPC: scale-000 … scale-297, then target-vm. */
const NAMES = [...Array.from({ length: COUNT - 2 }, (_, i) => `scale-${String(i).padStart(3, '0')}`), 'target-vm'];
/** A real test guest made by the CLI; its name sorts last. */
const LIVE = 'zz-live';
/** All 300 in the list's (name) order. */
const ALL = [...NAMES, LIVE];

let session: VmSession;
let page: Page;
let pageErrors: string[];
const ids = new Map<string, string>();

const list = () => page.getByTestId('vm-list');
const rows = () => page.locator('[data-testid^="vm-row-"]');
const row = (name: string) => page.getByTestId(`vm-row-${ids.get(name)}`);
const renderedNames = () => rows().evaluateAll((elements) => elements.map((element) => element.getAttribute('data-name')));

/** Creates the VMs through serve's RPC, from the signed-in page, 25 calls in flight at a time. */
async function createVms(inputs: Record<string, unknown>[]): Promise<string[]> {
  return page.evaluate(async (all) => {
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/rpc`);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error('no RPC connection'));
    });
    const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data as string) as { t: string; id: number; value?: unknown; error?: { message: string } };
      const entry = pending.get(message.id);
      if (!entry || (message.t !== 'result' && message.t !== 'error')) return;
      pending.delete(message.id);
      if (message.t === 'result') entry.resolve(message.value);
      else entry.reject(new Error(message.error?.message));
    };
    let nextId = 1;
    const call = (method: string, params: unknown) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ t: 'call', id, method, params }));
      });
    const created: string[] = [];
    for (let i = 0; i < all.length; i += 25) {
      const batch = (await Promise.all(all.slice(i, i + 25).map((input) => call('vms.create', { input })))) as { definition: { id: string } }[];
      created.push(...batch.map((details) => details.definition.id));
    }
    socket.close();
    return created;
  }, inputs);
}

/** The rendered row's index (1-based, header = 1) and its box against the list's visible area. */
async function expectInView(locator: Locator) {
  await expect(locator).toBeVisible();
  const [box, listBox] = [await locator.boundingBox(), await list().boundingBox()];
  expect(box && listBox).toBeTruthy();
  expect(box!.y).toBeGreaterThanOrEqual(listBox!.y);
  expect(box!.y + box!.height).toBeLessThanOrEqual(listBox!.y + listBox!.height + 1);
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  test.setTimeout(300_000);
  session = await openVmSession(browser);
  ({ page, pageErrors } = session);
  await expect(page.getByTestId('vms-empty')).toBeVisible({ timeout: 20_000 });
  ids.set(LIVE, await session.createGuestVm(LIVE, { memoryMiB: 160 }));
  // The list is open while they arrive: it grows by vms.changed events, as with a CLI script.
  const created = await createVms(
    NAMES.map((name, i) => ({
      name,
      nics: [],
      ...(name === 'target-vm' ? { description: 'the one to find' } : i % 10 === 0 ? { description: `batch ${i / 10}` } : {}),
      ...(i % 3 === 0 ? { tags: ['rack-a'] } : {}),
    })),
  );
  NAMES.forEach((name, i) => ids.set(name, created[i]!));
  await expect(page.getByTestId('vms-count')).toHaveText(`${COUNT} machines`, { timeout: 60_000 });
});

test.afterAll(async () => {
  await session?.close();
});

test('only a window of rows is in the DOM; the grid and the scrollbar have the full size', async () => {
  await expect(list()).toHaveAttribute('aria-rowcount', String(COUNT + 1));
  await expect(row('scale-000')).toBeVisible();
  const rendered = await rows().count();
  console.log(`${rendered} of ${COUNT} rows in the DOM`);
  expect(rendered).toBeGreaterThan(5);
  expect(rendered).toBeLessThan(40);
  expect(await renderedNames()).toEqual(ALL.slice(0, rendered));
  // aria-rowindex counts the header row as 1.
  await expect(row('scale-000')).toHaveAttribute('aria-rowindex', '2');

  // The scrolled height is every row's, so the scrollbar's thumb is the right size.
  const rowHeight = (await row('scale-000').boundingBox())!.height;
  const { scrollHeight, clientHeight } = await list().evaluate((element) => ({ scrollHeight: element.scrollHeight, clientHeight: element.clientHeight }));
  const header = (await page.locator('[data-testid="vm-list"] [role="row"][aria-rowindex="1"]').boundingBox())!.height;
  expect(Math.abs(scrollHeight - (header + COUNT * rowHeight))).toBeLessThan(2);
  expect(clientHeight).toBeLessThan(scrollHeight / 10);

  // Scrolled to the middle, the rows there are rendered (and the first ones are gone).
  await list().evaluate((element, top) => (element.scrollTop = top), 150 * rowHeight);
  await expect(row('scale-150')).toBeVisible();
  await expect(row('scale-150')).toHaveAttribute('aria-rowindex', '152');
  await expect(row('scale-000')).toHaveCount(0);
  expect(await rows().count()).toBeLessThan(40);
  await saveScreenshot(page, 'machines-many');
  await list().evaluate((element) => (element.scrollTop = 0));
  await expect(row('scale-000')).toBeVisible();
});

test('the keyboard walks the whole list and scrolls the focused row into view', async () => {
  await row('scale-000').click();
  await expect(list()).toBeFocused();
  await page.keyboard.press('End');
  await expect(row(LIVE)).toHaveAttribute('aria-selected', 'true');
  await expectInView(row(LIVE));
  await expect(list()).toHaveAttribute('aria-activedescendant', `vm-row-${ids.get(LIVE)}`);
  await expect(row(LIVE)).toHaveAttribute('aria-rowindex', String(COUNT + 1));
  await expect(row('scale-000')).toHaveCount(0);

  // PageUp moves by a screenful less one row, and keeps the focused row in view.
  await page.keyboard.press('PageUp');
  const afterPageUp = (await rows().evaluateAll((elements) => elements.filter((element) => element.getAttribute('aria-selected') === 'true').map((element) => element.getAttribute('data-name'))))[0]!;
  const page1 = COUNT - 1 - ALL.indexOf(afterPageUp);
  expect(page1).toBeGreaterThan(3);
  await expectInView(row(afterPageUp));
  await page.keyboard.press('PageDown');
  await expect(row(LIVE)).toHaveAttribute('aria-selected', 'true');

  await page.keyboard.press('Home');
  await expect(row('scale-000')).toHaveAttribute('aria-selected', 'true');
  await expectInView(row('scale-000'));
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(row('scale-002')).toHaveAttribute('aria-selected', 'true');
  await expect(row('scale-000')).toHaveAttribute('aria-selected', 'false');

  // Type-ahead: the first letters of a name.
  await page.keyboard.type('scale-12');
  await expect(row('scale-120')).toHaveAttribute('aria-selected', 'true');
  await expectInView(row('scale-120'));
  // A pause starts a new search.
  await page.waitForTimeout(1_000);
  await page.keyboard.press('t');
  await expect(row('target-vm')).toHaveAttribute('aria-selected', 'true');
});

test('the selection survives scrolling away and back; the toolbar counts it all along', async () => {
  await list().evaluate((element) => (element.scrollTop = 0));
  await row('scale-003').click();
  await row('scale-005').click({ modifiers: ['Control'] });
  await expect(page.getByTestId('vms-start')).toContainText('2');
  await list().evaluate((element) => (element.scrollTop = element.scrollHeight));
  await expect(row(LIVE)).toBeVisible();
  await expect(row('scale-005')).toHaveCount(1); // the focused row stays in the DOM, off screen, for aria-activedescendant
  await expect(row('scale-003')).toHaveCount(0);
  await expect(page.getByTestId('vms-start')).toContainText('2');
  // Shift+End from the focused row selects the range down to the last VM, off screen or not.
  await list().focus();
  await page.keyboard.press('Shift+End');
  await expect(page.getByTestId('vms-start')).toContainText(String(COUNT - 5));
  await page.keyboard.press('Home');
  await list().evaluate((element) => (element.scrollTop = 0));
  await row('scale-003').click();
  await row('scale-005').click({ modifiers: ['Control'] });
  await list().evaluate((element) => (element.scrollTop = element.scrollHeight));
  await list().evaluate((element) => (element.scrollTop = 0));
  await expect(row('scale-003')).toHaveAttribute('aria-selected', 'true');
  await expect(row('scale-005')).toHaveAttribute('aria-selected', 'true');
  await expect(row('scale-004')).toHaveAttribute('aria-selected', 'false');
});

test('sorting by a column header reverses the whole list, not just the rows shown', async () => {
  const nameHeader = page.getByTestId('vm-sort-name');
  await expect(nameHeader.locator('xpath=..')).toHaveAttribute('aria-sort', 'ascending');
  await nameHeader.click();
  await expect(nameHeader.locator('xpath=..')).toHaveAttribute('aria-sort', 'descending');
  await list().evaluate((element) => (element.scrollTop = 0));
  await expect.poll(async () => (await renderedNames()).slice(0, 3)).toEqual([LIVE, 'target-vm', 'scale-297']);
  await nameHeader.click();
  await expect.poll(async () => (await renderedNames())[0]).toBe('scale-000');
});

test('the search narrows 300 to one, Enter opens it, and Back returns to the same place', async () => {
  await page.getByTestId('vms-search').fill('find');
  await expect(page.getByTestId('vms-count')).toHaveText(`1 of ${COUNT} machines`);
  await expect.poll(renderedNames).toEqual(['target-vm']);
  await expect(list()).toHaveAttribute('aria-rowcount', '2');
  await row('target-vm').click();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('details-name')).toHaveText('target-vm');
  await page.getByTestId('details-back').click();
  await page.getByTestId('vms-search').fill('');
  await expect(page.getByTestId('vms-count')).toHaveText(`${COUNT} machines`);
  await expect(row('target-vm')).toHaveAttribute('aria-selected', 'true');

  // Scroll somewhere, open a VM there with a double click, come back: the list is where it was.
  const rowHeight = (await rows().first().boundingBox())!.height;
  await list().evaluate((element, top) => (element.scrollTop = top), 200 * rowHeight);
  await row('scale-201').dblclick();
  await expect(page.getByTestId('details-name')).toHaveText('scale-201');
  await page.getByTestId('details-back').click();
  await expectInView(row('scale-201'));
  await expect(row('scale-201')).toHaveAttribute('aria-selected', 'true');
  expect(await list().evaluate((element) => element.scrollTop)).toBeCloseTo(200 * rowHeight, -1);
  expect(pageErrors).toEqual([]);
});

test('a running VM off screen has no graphs in the DOM; its history is there when it scrolls into view', async () => {
  test.setTimeout(240_000);
  const id = ids.get(LIVE)!;
  await list().evaluate((element) => (element.scrollTop = 0));
  await page.getByTestId('vms-search').fill('');
  await session.cli('vm', 'start', LIVE);
  await expect.poll(async () => (JSON.parse(await session.cli('vm', 'list', '--json')) as { name: string; state: string }[]).find((vm) => vm.name === LIVE)?.state, { timeout: 120_000 }).toBe('running');
  // Off screen, only its state is known: no row, no sparklines, for any VM. Samples come every 2 s
  // once serve has picked the QEMU up and its supervisor attached (seconds under load): wait for 5.
  await page.waitForTimeout(10_000);
  await expect(row(LIVE)).toHaveCount(0);
  await expect(page.locator('[data-testid^="vm-cpu-"], [data-testid^="vm-mem-"]')).toHaveCount(0);
  // Scrolled into view: the graphs draw the samples that came while it was off screen.
  await list().evaluate((element) => (element.scrollTop = element.scrollHeight));
  await expect(page.getByTestId(`vm-state-${id}`)).toHaveAttribute('data-state', 'running');
  const samples = Number(await page.getByTestId(`vm-mem-${id}`).getAttribute('data-samples'));
  expect(samples).toBeGreaterThanOrEqual(2);
  await expect(page.locator('svg[data-testid^="vm-cpu-"]')).toHaveCount(1);
  await session.cli('vm', 'stop', LIVE, '--force');
  expect(pageErrors).toEqual([]);
});
