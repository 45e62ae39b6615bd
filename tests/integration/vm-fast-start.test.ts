import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createVmDefinition, type VmDefinition } from '../../engine/model';
import { stopVm } from '../../engine/vm/ops/control';
import { readLaunchCache, writeLaunchCache } from '../../engine/vm/ops/fast-start/launch-cache';
import { claimSpeculativeLaunch, launchSpeculatively, SPECULATIVE_NOTE } from '../../engine/vm/ops/fast-start/speculative-launch';
import { findRunningQemu, waitForExit } from '../../engine/vm/runtime/pidfile';
import { vmRuntimePaths } from '../../engine/vm/runtime/paths';
import { startVm } from '../../engine/vm/ops/start';
import { openVmStore } from '../../engine/vm/definitions/store';
import { vmDefinitionFile } from '../../engine/vm/runtime/paths';
import { ensureTestGuest, type TestGuest } from '../guest/guest';
import { createTempHome, type TempHome } from '../support/leaks';

const run = promisify(execFile);
const builtCli = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));

let guest: TestGuest;
let home: TempHome;
let serial = 0;

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-fast-start-');
});
afterAll(async () => {
  await home?.cleanup();
});

const ctx = () => ({ home: home.home, env: home.env });
const paths = (def: VmDefinition) => vmRuntimePaths(home.home, def.id, home.env);
const started: VmDefinition[] = [];

afterEach(async () => {
  for (const def of started.splice(0)) {
    if ((await findRunningQemu(paths(def))) !== undefined) await stopVm(def, ctx(), { force: true });
  }
});

async function defineVm(extra: Partial<Parameters<typeof createVmDefinition>[0]> = {}): Promise<VmDefinition> {
  const def = createVmDefinition({
    name: `fast-${++serial}`,
    accelerator: 'tcg',
    memory: { maximumMiB: 128 },
    directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
    nics: [],
    ...extra,
  });
  await openVmStore(home.home).create(def);
  started.push(def);
  return def;
}

/** Starts once the normal way, which leaves the launch cache behind, and stops again. */
async function startOnceAndStop(def: VmDefinition): Promise<void> {
  await startVm(def, ctx());
  await stopVm(def, ctx(), { force: true });
}

async function qemuCommandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
}

async function startHeaders(def: VmDefinition): Promise<string[]> {
  return (await readFile(paths(def).qemuLog, 'utf8')).split('\n').filter((line) => line.includes(`starting VM ${def.id}`));
}

describe('speculative launch from the launch cache (the CLI fast path)', () => {
  it('a start leaves the launch cache; the next start adopts the QEMU spawned from it', async () => {
    const def = await defineVm();
    expect(await readLaunchCache(home.home, def.name)).toBeUndefined();
    await startOnceAndStop(def);
    const entry = await readLaunchCache(home.home, def.name);
    expect(entry?.vmId).toBe(def.id);

    const launch = await launchSpeculatively(home.home, def.name, home.env);
    expect(launch).toBeDefined();
    const spawnedPid = launch!.spawned.child.pid!;
    const result = await startVm(def, { ...ctx(), speculative: claimSpeculativeLaunch(def.id)! });
    expect(result.pid).toBe(spawnedPid);
    expect(await findRunningQemu(paths(def))).toBe(spawnedPid);
    expect(await qemuCommandLine(spawnedPid)).toEqual([result.plan.binary, ...result.plan.args]);
    expect((await startHeaders(def)).at(-1)).toContain(SPECULATIVE_NOTE);
  });

  it('a QEMU spawned from a stale guess is killed and the VM starts with the planned command line', async () => {
    const def = await defineVm();
    await startOnceAndStop(def);
    // Same key (definition, binary, runtime folder), different command line: a guess gone wrong.
    const entry = (await readLaunchCache(home.home, def.name))!;
    await writeLaunchCache(home.home, def.name, { ...entry, args: entry.args.map((arg) => (arg === 'size=128M' ? 'size=96M' : arg)) });

    const launch = (await launchSpeculatively(home.home, def.name, home.env))!;
    const guessedPid = launch.spawned.child.pid!;
    expect(await qemuCommandLine(guessedPid)).toContain('size=96M');
    const result = await startVm(def, { ...ctx(), speculative: claimSpeculativeLaunch(def.id)! });
    expect(result.pid).not.toBe(guessedPid);
    expect(await waitForExit(guessedPid, 5000)).toBe(true);
    expect(await qemuCommandLine(result.pid)).toContain('size=128M');
    // The cache now holds the right command line again.
    expect((await readLaunchCache(home.home, def.name))!.args).toContain('size=128M');
  });

  it('does not guess after the definition changed, while the VM runs, or for a template', async () => {
    const def = await defineVm();
    await startOnceAndStop(def);
    const stored = JSON.parse(await readFile(vmDefinitionFile(home.home, def.id), 'utf8')) as { memory: { maximumMiB: number } };
    await writeFile(vmDefinitionFile(home.home, def.id), JSON.stringify({ ...stored, memory: { ...stored.memory, maximumMiB: 160 } }, null, 2));
    expect(await launchSpeculatively(home.home, def.name, home.env)).toBeUndefined();

    const other = await defineVm();
    await startOnceAndStop(other);
    const running = await startVm(other, ctx());
    expect(await launchSpeculatively(home.home, other.name, home.env)).toBeUndefined();
    expect(await findRunningQemu(paths(other))).toBe(running.pid);
    await stopVm(other, ctx(), { force: true });

    await writeFile(`${paths(other).qemuLog.replace(/qemu\.log$/, '')}template.json`, JSON.stringify({ markedAt: new Date().toISOString(), modes: {} }));
    expect(await launchSpeculatively(home.home, other.name, home.env)).toBeUndefined();
  });

  it('a start that fails its checks kills the QEMU it was handed', async () => {
    const def = await defineVm();
    await startOnceAndStop(def);
    const launch = (await launchSpeculatively(home.home, def.name, home.env))!;
    const pid = launch.spawned.child.pid!;
    // The kernel disappears between the guess and the checks.
    const missing = { ...def, directKernel: { ...def.directKernel!, kernel: `${home.home}/no-such-kernel` } };
    await expect(startVm(missing, { ...ctx(), speculative: claimSpeculativeLaunch(def.id)! })).rejects.toThrow(/does not exist/);
    expect(await waitForExit(pid, 5000)).toBe(true);
    expect(await findRunningQemu(paths(def))).toBeUndefined();
  });

  it('virtdesk vm start (the built CLI) adopts its guess, and a CLI that fails before adopting leaves no QEMU', async () => {
    expect(existsSync(builtCli), 'run `npm run build` first').toBe(true);
    const def = await defineVm();
    await startOnceAndStop(def);
    const { stdout } = await run(process.execPath, [builtCli, 'vm', 'start', def.name], { env: home.env });
    const pid = Number(/QEMU pid (\d+)/.exec(stdout)?.[1]);
    expect(await findRunningQemu(paths(def))).toBe(pid);
    expect((await startHeaders(def)).at(-1)).toContain(SPECULATIVE_NOTE);
    expect((await startHeaders(def)).filter((line) => line.includes(SPECULATIVE_NOTE))).toHaveLength(1);
    await stopVm(def, ctx(), { force: true });

    // The engine part refuses (the QEMU override points nowhere) after the guess was spawned.
    const refused = await run(process.execPath, [builtCli, 'vm', 'start', def.name], { env: { ...home.env, VIRTDESK_QEMU: '/nonexistent/qemu' } }).then(() => ({ code: 0, stderr: "" }), (error: { code: number; stderr: string }) => error);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('VIRTDESK_QEMU');
    expect((await startHeaders(def)).at(-1)).toContain(SPECULATIVE_NOTE);
    expect(await findRunningQemu(paths(def))).toBeUndefined();

    // The CLI proper cannot even load (a broken install): the guessed QEMU goes with the process.
    const broken = await mkdtemp(join(tmpdir(), 'vd-broken-cli-'));
    try {
      await cp(dirname(builtCli), broken, { recursive: true });
      await rm(join(broken, 'cli-main.mjs'));
      const headersBefore = (await startHeaders(def)).length;
      const crashed = await run(process.execPath, [join(broken, 'cli.cjs'), 'vm', 'start', def.name], { env: home.env }).then(() => ({ code: 0, stderr: "" }), (error: { code: number; stderr: string }) => error);
      expect(crashed.code).toBe(70);
      expect(await startHeaders(def)).toHaveLength(headersBefore + 1);
      const leftover = await findRunningQemu(paths(def));
      expect(leftover === undefined || (await waitForExit(leftover, 5000))).toBe(true);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });
});
