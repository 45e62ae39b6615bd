import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findProcessesWithArg, findRunningQemu, isAlive, isOurQemu, readPidFile, waitForExit } from '../../../engine/vm/runtime/pidfile';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vd-pid-'));
  dirs.push(dir);
  return dir;
}

/** A long-lived stand-in for QEMU whose argv mentions `marker`. */
function fakeQemu(marker: string): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', marker], { stdio: 'ignore' });
  children.push(child);
  return child;
}

describe('pidfile and liveness', () => {
  it('reads a pidfile and ignores missing or garbage ones', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'ok.pid'), '12345\n');
    await writeFile(join(dir, 'bad.pid'), 'hello');
    expect(await readPidFile(join(dir, 'ok.pid'))).toBe(12345);
    expect(await readPidFile(join(dir, 'bad.pid'))).toBeUndefined();
    expect(await readPidFile(join(dir, 'missing.pid'))).toBeUndefined();
  });

  it('accepts a live process that names our runtime folder and rejects a reused pid', async () => {
    const dir = await tempDir();
    const runDir = join(dir, 'run', 'vm-1');
    const ours = fakeQemu(`${runDir}/qmp.sock`);
    const stranger = fakeQemu(`${join(dir, 'run', 'vm-10')}/qmp.sock`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await isOurQemu(ours.pid!, runDir)).toBe(true);
    // vm-10's folder starts with "vm-1" but is not ours.
    expect(await isOurQemu(stranger.pid!, runDir)).toBe(false);
    await writeFile(join(dir, 'qemu.pid'), `${stranger.pid}\n`);
    expect(await findRunningQemu({ pidFile: join(dir, 'qemu.pid'), runDir })).toBeUndefined();
    await writeFile(join(dir, 'qemu.pid'), `${ours.pid}\n`);
    expect(await findRunningQemu({ pidFile: join(dir, 'qemu.pid'), runDir })).toBe(ours.pid);
    expect(await findProcessesWithArg(`${runDir}/`)).toEqual([ours.pid]);
  });

  it('sees a process end', async () => {
    const dir = await tempDir();
    const child = fakeQemu(`${dir}/x`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await isAlive(child.pid!)).toBe(true);
    child.kill('SIGKILL');
    expect(await waitForExit(child.pid!, 5000)).toBe(true);
    expect(await isAlive(child.pid!)).toBe(false);
  });
});
