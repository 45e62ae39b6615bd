// The real desktop app, launched with Playwright's Electron support against a temp VIRTDESK_HOME:
// create a VM through the wizard, see its console, quit, and find the VM still running.
// Where the Electron binary is absent (it downloads on first launch; the CI machines cannot) the test
// skips and says why. Without a display it starts Xvfb (tests/setup.sh installs it).
import { _electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { electronBinary, electronEnvironment } from '../../scripts/electron-launch.mjs';
import { ensureTestGuest, READY_LINE_IN_STREAM } from '../guest/guest';
import { waitForSerial } from '../support/vm-helpers';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const cliPath = join(root, 'dist/node/cli.cjs');
const found = electronBinary(process.env);

test.skip(!found.ok, `Electron cannot run here: ${found.ok ? '' : found.why}`);
// The list reporter does not print skip reasons; this line does.
if (!found.ok) console.warn(`test:electron: skipped, Electron cannot run here: ${found.why}`);

/** An X server of our own when there is no display: `Xvfb -displayfd` picks a free display number. */
async function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
  const child = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '1600x1000x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const display = await new Promise<string>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot start Xvfb (apt-get install xvfb): ${error.message}`)));
    child.stdout!.once('data', (chunk: Buffer) => resolve(`:${chunk.toString().trim()}`));
  });
  return { display, process: child };
}

test('creates a VM in the wizard, shows its console, and quits leaving it running', async () => {
  const home = await mkdtemp(join(tmpdir(), 'virtdesk-electron-'));
  const xvfb = process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? undefined : await startXvfb();
  const cli = async (...args: string[]) => (await run(process.execPath, [cliPath, ...args], { env: { ...process.env, VIRTDESK_HOME: home }, timeout: 120_000 })).stdout;
  let app: ElectronApplication | undefined;
  try {
    const guest = await ensureTestGuest();
    const env = electronEnvironment({
      ...process.env,
      VIRTDESK_HOME: home,
      // Electron's single-instance lock and its profile live under userData: keep them off the user's.
      XDG_CONFIG_HOME: join(home, 'config'),
      ...(xvfb ? { DISPLAY: xvfb.display } : {}),
    });
    // Chromium will not run as root with its sandbox. Only this test turns it off, and says so.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) test.info().annotations.push({ type: 'sandbox', description: 'running as root: Electron started with --no-sandbox for this test only' });
    app = await _electron.launch({ executablePath: found.ok ? found.binary : '', args: [root, ...(asRoot ? ['--no-sandbox'] : [])], env: env as Record<string, string> });
    const page: Page = await app.firstWindow();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await expect(page.getByTestId('machines-page')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('connection-status')).toHaveAttribute('data-status', 'connected');

    // The wizard, as a person fills it in.
    await page.getByTestId('vms-new').click();
    const wizard = page.getByTestId('wizard');
    await wizard.getByTestId('wiz-source-kernel').check();
    await wizard.getByTestId('wiz-kernel').fill(guest.kernel);
    await wizard.getByTestId('wiz-initrd').fill(guest.initrd);
    await wizard.getByTestId('wiz-cmdline').fill(guest.cmdline);
    await wizard.getByTestId('wiz-next').click();
    await wizard.getByTestId('wiz-memory').fill('256');
    await wizard.getByTestId('wiz-next').click();
    await wizard.getByTestId('wiz-storage-none').check();
    await wizard.getByTestId('wiz-next').click();
    await wizard.getByTestId('wiz-name').fill('electron-guest');
    await expect(wizard.getByTestId('wiz-status')).toHaveText('Ready to create');
    await wizard.getByTestId('wiz-finish').click();
    await expect(wizard).toBeHidden();

    const row = page.locator('[data-testid^="vm-row-"][data-name="electron-guest"]');
    await expect(row).toBeVisible();
    const id = (await row.getAttribute('data-testid'))!.slice('vm-row-'.length);
    await expect(page.getByTestId(`vm-state-${id}`)).toHaveAttribute('data-state', 'running', { timeout: 90_000 });
    const shown = JSON.parse(await cli('vm', 'show', 'electron-guest', '--json')) as { runtime: { serialLog: string } };
    await waitForSerial(shown.runtime.serialLog, READY_LINE_IN_STREAM, 120_000);

    // Its console: the VNC stream through a MessagePort, drawn by noVNC with more than one colour.
    await page.evaluate((vmId) => (window.location.hash = `#/machines/${vmId}/console`), id);
    await expect(page.getByTestId(`console-status-${id}`)).toHaveAttribute('data-status', 'connected', { timeout: 30_000 });
    await expect
      .poll(
        () =>
          page.evaluate((vmId) => {
            const canvas = document.querySelector<HTMLCanvasElement>(`[data-testid="console-screen-${vmId}"] canvas`);
            const data = canvas?.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
            const colours = new Set<number>();
            for (let i = 0; data && i < data.length; i += 64) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
            return colours.size;
          }, id),
        { timeout: 30_000 },
      )
      .toBeGreaterThan(1);
    expect(errors).toEqual([]);

    // Quit (the default choice keeps VMs running): the app goes, QEMU stays.
    await app.close();
    app = undefined;
    const after = JSON.parse(await cli('vm', 'list', '--json')) as { name: string; state: string }[];
    expect(after).toEqual([expect.objectContaining({ name: 'electron-guest', state: 'running' })]);
  } finally {
    await app?.close().catch(() => undefined);
    await cli('vm', 'stop', 'electron-guest', '--force').catch(() => undefined);
    xvfb?.process.kill();
    await rm(home, { recursive: true, force: true });
  }
});
