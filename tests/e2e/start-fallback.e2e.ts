import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const startScript = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));

test('npm start falls back to serve with one line saying why, and the UI loads', async ({ page }) => {
  const home = await mkdtemp(join(tmpdir(), 'virtdesk-start-'));
  const env: NodeJS.ProcessEnv = { ...process.env, VIRTDESK_HOME: home };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  const child = spawn(process.execPath, [startScript, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await expect.poll(() => /serving at (\S+)/.exec(output)?.[1], { timeout: 20_000 }).toBeTruthy();
    const lines = output.split('\n');
    const fallback = lines.filter((line) => line.startsWith('Electron cannot start here: '));
    expect(fallback).toHaveLength(1);
    expect(fallback[0]).toMatch(/Starting the browser UI instead \(virtdesk serve\)/);
    const url = /serving at (\S+)/.exec(output)![1]!;
    await page.goto(url);
    await expect(page.getByTestId('connection-status')).toHaveAttribute('data-status', 'connected');
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await rm(home, { recursive: true, force: true });
  }
});
