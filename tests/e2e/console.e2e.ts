// The console through `virtdesk serve` in Chromium against a real test guest under TCG: noVNC over
// the /console WebSocket shows the guest's screen, keys typed into the canvas reach the guest, the
// send-key menu, paste-as-keys and screenshot work, the console reconnects when the VM restarts,
// opens in its own window, and the serial tab (xterm.js) runs a command in the guest's shell.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { ensureTestGuest, READY_LINE_IN_STREAM, type TestGuest } from '../guest/guest';
import { decodePng, distinctColours } from '../support/png';
import { saveScreenshot } from '../support/screenshots';
import { startServeProcess, type ServeProcess } from '../support/serve-process';
import { waitForSerial } from '../support/vm-helpers';

const run = promisify(execFile);
const cliPath = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));

let serve: ServeProcess;
let guest: TestGuest;
let context: BrowserContext;
let page: Page;
let vmId: string;
let serialLog: string;
const pageErrors: string[] = [];

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [cliPath, ...args], { env: { ...process.env, VIRTDESK_HOME: serve.home }, timeout: 120_000 });
  return stdout;
}

/** What the console's canvas shows: how many colours (1 = blank), and its pixels for comparing. */
async function canvasSample(p: Page = page): Promise<{ width: number; height: number; colours: number; lit: number; pixels: number[] }> {
  return p.evaluate((id) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`[data-testid="console-screen-${id}"] canvas`);
    if (!canvas || canvas.width === 0) return { width: 0, height: 0, colours: 0, lit: 0, pixels: [] };
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const counts = new Map<number, number>();
    // Every 4th pixel's colour as one number: enough to compare screens, small enough to return.
    const pixels: number[] = [];
    for (let i = 0; i < data.length; i += 16) {
      const value = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
      counts.set(value, (counts.get(value) ?? 0) + 1);
      pixels.push(value);
    }
    // Pixels that are not the background (the most common colour): the amount of text on screen.
    const background = Math.max(...counts.values());
    return { width: canvas.width, height: canvas.height, colours: counts.size, lit: pixels.length - background, pixels };
  }, vmId);
}

function changedPixels(a: number[], b: number[]): number {
  let changed = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) changed++;
  return changed;
}

async function serialText(): Promise<string> {
  return (await readFile(serialLog)).toString('utf8');
}

async function openConsoleTab(): Promise<void> {
  await page.evaluate((id) => (window.location.hash = `#/machines/${id}/console`), vmId);
  await expect(page.getByTestId(`console-${vmId}`)).toBeVisible();
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  guest = await ensureTestGuest();
  serve = await startServeProcess();
  context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: serve.origin });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  if (process.env.DEBUG_CONSOLE) page.on('console', (m) => console.log('[page]', m.type(), m.text()));
  await page.goto(serve.url);
  const created = JSON.parse(
    await cli('vm', 'create', 'console-vm', '--memory', '256', '--accel', 'tcg', '--kernel', guest.kernel, '--initrd', guest.initrd, '--append', guest.cmdline, '--json'),
  ) as { id: string };
  vmId = created.id;
  serialLog = (JSON.parse(await cli('vm', 'show', 'console-vm', '--json')) as { runtime: { serialLog: string } }).runtime.serialLog;
  await cli('vm', 'start', 'console-vm');
  await waitForSerial(serialLog, READY_LINE_IN_STREAM, 120_000);
});

test.afterAll(async () => {
  if (process.env.DEBUG_CONSOLE) console.log(serve?.output());
  if (serve) await cli('vm', 'stop', 'console-vm', '--force').catch(() => undefined);
  await context?.close();
  await serve?.stop();
});

test('noVNC shows the guest screen, and keys typed into the canvas reach the guest', async () => {
  await openConsoleTab();
  // Well inside the view's 20 s retry watchdog: a first handshake that hangs fails here.
  await expect(page.getByTestId(`console-status-${vmId}`)).toHaveAttribute('data-status', 'connected', { timeout: 15_000 });
  // The guest's text console: more than one colour, at the guest's resolution.
  await expect.poll(async () => (await canvasSample()).colours, { timeout: 30_000 }).toBeGreaterThan(1);
  const before = await canvasSample();
  expect(before.width).toBeGreaterThanOrEqual(640);

  await expect(page.getByTestId(`console-grab-${vmId}`)).toHaveAttribute('data-grabbed', 'false');
  await page.locator(`[data-testid="console-screen-${vmId}"] canvas`).click();
  await expect(page.getByTestId(`console-grab-${vmId}`)).toHaveAttribute('data-grabbed', 'true');
  // As a person types it: Shift held for ">" (noVNC sends physical keys, as QEMU wants them).
  await page.keyboard.type('echo typed-into-vnc ', { delay: 40 });
  await page.keyboard.down('Shift');
  await page.keyboard.press('Period');
  await page.keyboard.up('Shift');
  await page.keyboard.type(' /dev/console', { delay: 40 });
  await page.keyboard.press('Enter');
  // The shell on tty1 ran it: its output went to the kernel console (the serial port), and the screen changed.
  await expect.poll(serialText, { timeout: 30_000 }).toContain('typed-into-vnc');
  await expect.poll(async () => changedPixels(before.pixels, (await canvasSample()).pixels), { timeout: 10_000 }).toBeGreaterThan(200);
  await saveScreenshot(page, 'console');
});

test('paste types the host clipboard into the guest', async () => {
  await page.evaluate(() => navigator.clipboard.writeText('echo Pasted_OK-$((40+2)) > /dev/ttyS0\n'));
  await page.getByTestId(`console-paste-${vmId}`).click();
  // Upper case, digits, symbols and Enter all arrived as the right keys.
  await expect.poll(serialText, { timeout: 30_000 }).toContain('Pasted_OK-42');
});

test('screenshot saves a PNG of the guest screen', async () => {
  const download = page.waitForEvent('download');
  await page.getByTestId(`console-screenshot-${vmId}`).click();
  const file = await (await download).path();
  const png = decodePng(await readFile(file));
  expect(png.width).toBeGreaterThanOrEqual(640);
  expect(distinctColours(png)).toBeGreaterThan(1);
});

test('the serial tab runs a command in the guest shell', async () => {
  await page.getByTestId(`console-tab-serial-${vmId}`).click();
  await expect(page.getByTestId(`serial-status-${vmId}`)).toHaveAttribute('data-status', 'connected', { timeout: 30_000 });
  const terminal = page.getByTestId(`serial-terminal-${vmId}`);
  await terminal.click();
  await page.keyboard.press('Enter');
  await expect(terminal.locator('.xterm-rows')).toContainText('virtdesk-guest#', { timeout: 20_000 });
  await page.keyboard.type('echo $((6*7))', { delay: 30 });
  await page.keyboard.press('Enter');
  await expect
    .poll(async () => (await terminal.locator('.xterm-rows > div').allInnerTexts()).map((line) => line.trim()), { timeout: 20_000 })
    .toContain('42');
  await saveScreenshot(page, 'console-serial');
  await page.getByTestId(`console-tab-display-${vmId}`).click();
});

test('a custom key combination reaches the guest (Ctrl+L clears the shell screen)', async () => {
  await page.getByTestId(`console-tab-display-${vmId}`).click();
  const before = await canvasSample();
  expect(before.lit).toBeGreaterThan(500);
  await page.getByTestId(`console-sendkeys-${vmId}`).click();
  await page.getByTestId(`console-key-custom-${vmId}`).fill('Ctrl+L');
  await page.getByTestId(`console-key-custom-send-${vmId}`).click();
  // Only the prompt is left.
  await expect.poll(async () => (await canvasSample()).lit, { timeout: 20_000 }).toBeLessThan(before.lit / 4);
});

test('Ctrl+Alt+Del from the menu powers the guest off; the console says so and reconnects when it runs again', async () => {
  await expect(page.getByTestId(`console-status-${vmId}`)).toHaveAttribute('data-status', 'connected');
  await page.getByTestId(`console-sendkeys-${vmId}`).click();
  // The test guest's init runs `poweroff -f` on Ctrl+Alt+Del.
  await page.getByTestId(`console-key-ctrl-alt-delete-${vmId}`).click();
  await expect(page.getByTestId(`console-status-${vmId}`)).toHaveAttribute('data-status', 'disconnected', { timeout: 30_000 });
  await expect(page.getByTestId(`console-reason-${vmId}`)).toContainText('not running', { timeout: 30_000 });
  const offset = (await readFile(serialLog)).length;
  await page.getByTestId(`console-start-${vmId}`).click();
  await expect(page.getByTestId(`console-status-${vmId}`)).toHaveAttribute('data-status', 'connected', { timeout: 60_000 });
  await waitForSerial(serialLog, READY_LINE_IN_STREAM, 120_000, offset);
  await expect.poll(async () => (await canvasSample()).lit, { timeout: 30_000 }).toBeGreaterThan(500);
});

test('the console reconnects when the VM is restarted from elsewhere (the CLI)', async () => {
  await cli('vm', 'stop', 'console-vm', '--force');
  await expect(page.getByTestId(`console-status-${vmId}`)).toHaveAttribute('data-status', 'disconnected', { timeout: 30_000 });
  const offset = (await readFile(serialLog)).length;
  await cli('vm', 'start', 'console-vm');
  await expect(page.getByTestId(`console-status-${vmId}`)).toHaveAttribute('data-status', 'connected', { timeout: 60_000 });
  await waitForSerial(serialLog, READY_LINE_IN_STREAM, 120_000, offset);
  await expect.poll(async () => (await canvasSample()).lit, { timeout: 30_000 }).toBeGreaterThan(500);
});

test('the console opens in its own window', async () => {
  const popup = context.waitForEvent('page');
  await page.getByTestId(`console-popout-${vmId}`).click();
  const win = await popup;
  if (process.env.DEBUG_CONSOLE) win.on('console', (m) => console.log('[popup]', m.type(), m.text()));
  await expect(win.getByTestId('console-window')).toBeVisible();
  await expect(win.getByTestId(`console-status-${vmId}`)).toHaveAttribute('data-status', 'connected', { timeout: 15_000 });
  await expect.poll(async () => (await canvasSample(win)).colours, { timeout: 30_000 }).toBeGreaterThan(1);
  // Only the console: no manager sidebar in that window.
  await expect(win.getByTestId('app-shell')).toHaveCount(0);
  await win.close();
  expect(pageErrors).toEqual([]);
});
