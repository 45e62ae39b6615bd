// A `virtdesk vm save` killed midway (kill -9 of the CLI) leaves the guest paused and a partial
// file; the next look at the VM (a CLI command, or a host starting) rolls the save back.
import { spawn } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotCommands } from '../../engine/cli/snapshot-commands';
import { createVmCommands } from '../../engine/cli/vm-commands';
import { createVmDefinition, type VmDefinition } from '../../engine/model';
import { stopVm } from '../../engine/vm/ops/control';
import { VmManager } from '../../engine/vm/manager';
import { partialMemoryFile, savedStateDir } from '../../engine/vm/ops/save-restore/saved-state';
import { startVm } from '../../engine/vm/ops/start';
import { probeVmStatus } from '../../engine/vm/runtime/probe';
import { openVmStore } from '../../engine/vm/definitions/store';
import { vmRuntimePaths } from '../../engine/vm/runtime/paths';
import { forkWorkerFactory } from '../../engine/vm/supervision/worker';
import { ensureTestGuest, type TestGuest } from '../guest/guest';
import { createTempHome, type TempHome } from '../support/leaks';
import { cliRunner, waitFor, type CliResult } from '../support/vm-helpers';

const builtCli = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));
const SUPERVISOR = fileURLToPath(new URL('../../engine/vm/supervision/supervisor-main.ts', import.meta.url));

let guest: TestGuest;
let home: TempHome;
let def: VmDefinition;
let cli: (...argv: string[]) => Promise<CliResult>;

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-save-killed-');
  def = createVmDefinition({
    name: 'saver',
    accelerator: 'tcg',
    memory: { maximumMiB: 128 },
    directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
    nics: [],
  });
  await openVmStore(home.home).create(def);
  cli = cliRunner([...createVmCommands(), ...snapshotCommands], home.env);
});
afterAll(async () => {
  await home?.cleanup();
});

const ctx = () => ({ home: home.home, env: home.env });
const paths = () => vmRuntimePaths(home.home, def.id, home.env);
const exists = (path: string) => access(path).then(() => true, () => false);

type KillPoint = 'intent' | 'partial' | 'record';

/** Runs `virtdesk vm save` (the built CLI) and kill -9s it at `point`; returns once it is gone. */
async function killSaveAt(point: KillPoint): Promise<void> {
  const child = spawn(process.execPath, [builtCli, 'vm', 'save', def.name], { env: home.env, stdio: 'ignore' });
  const intent = `${savedStateDir(home.home, def.id)}/.save-intent.json`;
  const reached = async (): Promise<boolean> => {
    if (point === 'intent') return exists(intent);
    if (point === 'partial') return exists(partialMemoryFile(home.home, def.id));
    return exists(`${savedStateDir(home.home, def.id)}/state.json`);
  };
  await waitFor(`the save to reach ${point}`, reached, 60_000, 2);
  // Reaped, not merely dead: a zombie still counts as a live lock holder.
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

async function expectRolledBack(): Promise<void> {
  expect((await probeVmStatus(paths(), def.name)).state).toBe('running');
  const left = await readdir(savedStateDir(home.home, def.id));
  expect(left.filter((entry) => entry !== '.save.lock')).toEqual([]);
}

describe('a save killed midway is rolled back on the next look at the VM', () => {
  it.each<KillPoint>(['intent', 'partial', 'record'])('killed at %s: the next CLI command resumes the guest and says so', async (point) => {
    await startVm(def, ctx());
    await killSaveAt(point);
    const listed = await cli('vm', 'list');
    if (point === 'record' && /saver\s+stopped/.test(listed.stdout)) {
      // Killed after QEMU quit: the save had finished, and the next start restores it.
      expect(listed.stderr).toBe('');
      expect((await cli('vm', 'start', def.name)).stdout).toContain('saved');
    } else {
      expect(listed.stdout, listed.stderr).toMatch(/saver\s+running/);
      expect(listed.stderr).toContain('A save of VM "saver"');
      await expectRolledBack();
    }
    // The VM saves fine afterwards, and restores.
    const saved = await cli('vm', 'save', def.name);
    expect(saved.code, saved.stderr).toBe(0);
    expect((await cli('vm', 'start', def.name)).code).toBe(0);
    expect((await probeVmStatus(paths(), def.name)).state).toBe('running');
    await stopVm(def, ctx(), { force: true });
  });

  it('killed while no host ran: a host starting rolls it back and logs why', async () => {
    await startVm(def, ctx());
    await killSaveAt('partial');
    const log: string[] = [];
    const manager = await VmManager.open({
      home: home.home,
      env: home.env,
      workers: forkWorkerFactory({ execArgv: ['--import', 'tsx'] }),
      supervisorEntry: SUPERVISOR,
      statsIntervalMs: 0,
      pollIntervalMs: 300,
      log: (line) => log.push(line),
    });
    try {
      expect(log.join('\n')).toContain('A save of VM "saver"');
      await expectRolledBack();
      await waitFor('the manager to show it running', async () => (await manager.get(def.name)).runtime.state === 'running', 30_000);
      await manager.stop(def.name, { force: true });
    } finally {
      await manager.close();
    }
  });
});
