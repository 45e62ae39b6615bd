import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmDefinition, type VmDefinition } from '../../engine/model';
import { stopVm } from '../../engine/vm/ops/control';
import { findRunningQemu } from '../../engine/vm/runtime/pidfile';
import { vmRuntimePaths } from '../../engine/vm/runtime/paths';
import { startVm } from '../../engine/vm/ops/start';
import { probeVmStatus } from '../../engine/vm/runtime/probe';
import { openVmStore } from '../../engine/vm/definitions/store';
import { ensureTestGuest, type TestGuest } from '../guest/guest';
import { createTempHome, findProcessesUnder, type TempHome } from '../support/leaks';

const builtCli = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function cliStart(name: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [builtCli, 'vm', 'start', name], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let guest: TestGuest;
let home: TempHome;
let def: VmDefinition;

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-start-race-');
  def = createVmDefinition({
    name: 'racer',
    accelerator: 'tcg',
    memory: { maximumMiB: 128 },
    directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
    nics: [],
  });
  await openVmStore(home.home).create(def);
});
afterAll(async () => {
  await home?.cleanup();
});

const ctx = () => ({ home: home.home, env: home.env });
const paths = () => vmRuntimePaths(home.home, def.id, home.env);

/** After a race: one QEMU of the VM runs, the pidfile names it, and the status says running. */
async function expectOneRunningQemu(): Promise<number> {
  const processes = await findProcessesUnder(paths().runDir);
  expect(processes).toHaveLength(1);
  expect(await findRunningQemu(paths())).toBe(processes[0]);
  expect((await probeVmStatus(paths(), def.name)).state).toBe('running');
  return processes[0]!;
}

describe('two starts of one VM at once', () => {
  it('two CLIs (each with its launch-cache guess): one starts it, the other says it runs; the winner\'s QEMU stays known', async () => {
    expect(existsSync(builtCli), 'run `node scripts/build.mjs` first').toBe(true);
    // A first start leaves the launch cache, so both CLIs below try the speculative spawn too.
    await startVm(def, ctx());
    await stopVm(def, ctx(), { force: true });
    for (let round = 0; round < 4; round++) {
      const outcomes = await Promise.all([cliStart(def.name, home.env), cliStart(def.name, home.env)]);
      const winners = outcomes.filter((outcome) => outcome.code === 0);
      const losers = outcomes.filter((outcome) => outcome.code !== 0);
      expect(winners, JSON.stringify(outcomes)).toHaveLength(1);
      expect(losers[0]!.stderr).toContain('Cannot start VM "racer": it is running.');
      const pid = await expectOneRunningQemu();
      expect(winners[0]!.stdout).toContain(`QEMU pid ${pid}`);
      await stopVm(def, ctx(), { force: true });
      expect(await findProcessesUnder(paths().runDir)).toEqual([]);
    }
  });

  it('a host process and a CLI at once; and two starts inside one process', async () => {
    const [inProcess, cli] = await Promise.allSettled([startVm(def, ctx()), cliStart(def.name, home.env)]);
    const pid = await expectOneRunningQemu();
    const cliWon = cli.status === 'fulfilled' && cli.value.code === 0;
    expect(inProcess.status === 'fulfilled').toBe(!cliWon);
    if (inProcess.status === 'fulfilled') expect(inProcess.value.pid).toBe(pid);
    else expect(String(inProcess.reason)).toContain('it is running');
    await stopVm(def, ctx(), { force: true });

    const both = await Promise.allSettled([startVm(def, ctx()), startVm(def, ctx())]);
    expect(both.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(both.map((result) => (result.status === 'rejected' ? String(result.reason) : 'ok'))).toContain('EngineError: Cannot start VM "racer": it is running.');
    await expectOneRunningQemu();
    await stopVm(def, ctx(), { force: true });
  });
});
