import type { Browser, BrowserContext, Page } from '@playwright/test';
import { execFile } from 'node:child_process';
import { copyFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureTestGuest, type TestGuest } from '../guest/guest';
import { startServeProcess, type ServeProcess } from './serve-process';

const run = promisify(execFile);
const builtCli = fileURLToPath(new URL('../../dist/node', import.meta.url));

/** One e2e file's world: a served UI with its own VIRTDESK_HOME, one browser page, the CLI, the guest. */
export interface VmSession {
  serve: ServeProcess;
  guest: TestGuest;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page; tests expect it to stay empty. */
  pageErrors: string[];
  /** The CLI on the served home; resolves with stdout, rejects on a non-zero exit. */
  cli(...args: string[]): Promise<string>;
  /** A stopped test-guest VM made by the CLI (TCG, direct kernel, its own blank disk); returns its id. */
  createGuestVm(name: string, options?: { memoryMiB?: number; extra?: string[] }): Promise<string>;
  /** Forces off every VM still running, then closes the page and serve and removes its files. */
  close(): Promise<void>;
}

export async function openVmSession(browser: Browser): Promise<VmSession> {
  // A private copy of the built CLI, so a rebuild of dist/ during the run cannot pull it away.
  const cliCopy = await mkdtemp(join(tmpdir(), 'virtdesk-e2e-cli-'));
  await cp(builtCli, cliCopy, { recursive: true });
  const cliPath = join(cliCopy, 'cli.cjs');
  const guest = await ensureTestGuest();
  const serve = await startServeProcess();
  // One browser session for the file: the launch URL's token is single-use.
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(serve.url);

  const cli = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(process.execPath, [cliPath, ...args], { env: { ...process.env, VIRTDESK_HOME: serve.home }, timeout: 120_000 });
    return stdout;
  };

  return {
    serve,
    guest,
    context,
    page,
    pageErrors,
    cli,
    async createGuestVm(name, { memoryMiB = 192, extra = [] } = {}) {
      const disk = join(serve.home, `${name}-disk.qcow2`);
      await copyFile(guest.blankQcow2, disk);
      const args = ['vm', 'create', name, '--memory', String(memoryMiB), '--accel', 'tcg', '--kernel', guest.kernel, '--initrd', guest.initrd];
      const created = JSON.parse(await cli(...args, '--append', guest.cmdline, '--disk', disk, ...extra, '--json')) as { id: string };
      return created.id;
    },
    async close() {
      const vms = (JSON.parse(await cli('vm', 'list', '--json').catch(() => '[]')) as { name: string; state: string }[]).filter(
        (vm) => vm.state !== 'stopped' && vm.state !== 'crashed',
      );
      for (const vm of vms) await cli('vm', 'stop', vm.name, '--force').catch(() => undefined);
      await context.close();
      await serve.stop();
      await rm(cliCopy, { recursive: true, force: true });
    },
  };
}
