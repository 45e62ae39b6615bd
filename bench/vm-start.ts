import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVmDefinition, type VmDefinition } from '../engine/model';
import { stopVm } from '../engine/vm/ops/control';
import { findRunningQemu, waitForExit } from '../engine/vm/runtime/pidfile';
import { clearRuntimeFiles, prepareRuntimeDir, vmRuntimePaths } from '../engine/vm/runtime/paths';
import { planStart, startVm } from '../engine/vm/ops/start';
import { openVmStore } from '../engine/vm/definitions/store';
import type { SuiteDefinition, Variant, VariantResult } from './harness';
import { difference, pairedMedian } from './support/paired';
import { defineDomain, libvirtUnavailable, libvirtUri, virsh, type LibvirtDomain } from './support/libvirt';
import { builtCli, testGuestFiles } from './support/repo';
import { RfbClient } from './vnc/rfb-client';
import { setVncPassword } from './vnc/vnc-auth';

/**
 * Resolves with `performance.now()` when the first FramebufferUpdate with pixels arrives, connecting
 * as soon as QEMU listens on the socket (a refused or missing socket is retried until the deadline).
 * The handshake is RfbClient's: the one the console suites compare noVNC with.
 */
export async function firstFramebufferUpdate(socketPath: string, timeoutMs = 30_000, password?: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`VNC ${socketPath}: no framebuffer update in time`);
    let client: RfbClient;
    try {
      client = await RfbClient.connect(socketPath, { ...(password === undefined ? {} : { password }), timeoutMs: left });
    } catch (error) {
      // Not listening yet (ENOENT, ECONNREFUSED): QEMU is still starting.
      if (/ENOENT|ECONNREFUSED/.test((error as Error).message)) {
        await new Promise((resolve) => setTimeout(resolve, 3));
        continue;
      }
      throw error;
    }
    try {
      client.requestUpdate(false);
      return (await client.nextUpdate(Math.max(1, deadline - Date.now()))).at;
    } finally {
      client.close();
    }
  }
}

export interface VmStartBenchContext {
  home: string;
  env: NodeJS.ProcessEnv;
  def: VmDefinition;
  /** The built CLI (a private copy of dist/node/cli.cjs) when it has the vm commands. */
  cli?: string;
}

/** What a viewer does: a one-time password through QMP, then VNC authentication, then the first update. */
async function viewerFirstUpdate(paths: { qmpCommandSocket: string; vncSocket: string }): Promise<number> {
  const password = 'bench123';
  await setVncPassword(paths.qmpCommandSocket, password);
  return firstFramebufferUpdate(paths.vncSocket, 30_000, password);
}

/** Raw QEMU with the argv Virtdesk builds (minus `-S`, since nobody sends `cont`), spawn → first update. */
export async function measureRawQemu(ctx: VmStartBenchContext): Promise<number> {
  const plan = await planStart(ctx.def, { home: ctx.home, env: ctx.env });
  await prepareRuntimeDir(plan.paths);
  await clearRuntimeFiles(plan.paths);
  const args = plan.args.filter((arg) => arg !== '-S');
  const started = performance.now();
  const child = spawn(plan.binary, args, { stdio: 'ignore' });
  const exited = new Promise((resolvePromise) => child.once('exit', resolvePromise));
  try {
    return (await viewerFirstUpdate(plan.paths)) - started;
  } finally {
    child.kill('SIGKILL');
    await exited;
    await clearRuntimeFiles(plan.paths);
  }
}

/** `startVm` in this process (what the app does), call → first update. */
export async function measureEngineStart(ctx: VmStartBenchContext): Promise<number> {
  const paths = vmRuntimePaths(ctx.home, ctx.def.id, ctx.env);
  await clearRuntimeFiles(paths);
  const started = performance.now();
  const [at] = await Promise.all([viewerFirstUpdate(paths), startVm(ctx.def, { home: ctx.home, env: ctx.env })]);
  const elapsed = at - started;
  await stopVm(ctx.def, { home: ctx.home, env: ctx.env }, { force: true });
  return elapsed;
}

/** `virtdesk vm start NAME` as a process, spawn → first update (includes Node's own start-up). */
export async function measureCliStart(ctx: VmStartBenchContext): Promise<number> {
  if (!ctx.cli) throw new Error('the built CLI has no vm commands');
  const paths = vmRuntimePaths(ctx.home, ctx.def.id, ctx.env);
  await clearRuntimeFiles(paths);
  const started = performance.now();
  const child = spawn(process.execPath, [ctx.cli, 'vm', 'start', ctx.def.name], { env: ctx.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolvePromise) => child.once('exit', resolvePromise));
  const at = await viewerFirstUpdate(paths).catch(async (error: unknown) => {
    const code = await exited;
    throw new Error(`virtdesk vm start exited ${code}: ${stderr.trim() || String(error)}`);
  });
  const code = await exited;
  if (code !== 0) throw new Error(`virtdesk vm start exited ${code}: ${stderr.trim()}`);
  await stopVm(ctx.def, { home: ctx.home, env: ctx.env }, { force: true });
  return at - started;
}

/** The built CLI when it knows `vm start` (a private copy of dist/, see builtCli). */
async function builtCliWithVmCommands(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const cli = await builtCli();
  if ('missing' in cli) return undefined;
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [cli.path, 'help'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('error', () => resolvePromise(undefined));
    child.once('exit', () => resolvePromise(/virtdesk vm start/.test(stdout) ? cli.path : undefined));
  });
}

/** `virsh start` of the equivalent libvirt domain, spawn → first update (libvirt sets the VNC password itself). */
export async function measureVirshStart(domain: LibvirtDomain): Promise<number> {
  await rm(domain.vncSocket, { force: true });
  const started = performance.now();
  const child = spawn('virsh', ['-c', libvirtUri(), 'start', domain.name], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolvePromise) => child.once('exit', resolvePromise));
  try {
    // libvirt sets the VNC password over QMP while QEMU is still paused; until then QEMU's VNC
    // server (password=on) refuses every answer, so the viewer tries again, as one polling would.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const at = await firstFramebufferUpdate(domain.vncSocket, Math.max(1000, deadline - Date.now()), domain.password);
        await exited;
        return at - started;
      } catch (error) {
        if (Date.now() < deadline && /security handshake failed|authentication failed/.test(String(error))) {
          await new Promise((resolvePromise) => setTimeout(resolvePromise, 5));
          continue;
        }
        const code = await exited;
        throw new Error(`virsh start exited ${code}: ${stderr.trim() || String(error)}`, { cause: error });
      }
    }
  } finally {
    await virsh(['destroy', domain.name]).catch(() => undefined);
  }
}

/** A benchmark home with the test guest defined as a TCG VM with VNC (256 MiB, 1 vCPU, no disk or NIC). */
export async function prepareVmStartBench(): Promise<VmStartBenchContext & { dispose(): Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), 'vdbench-'));
  const env: NodeJS.ProcessEnv = { ...process.env, VIRTDESK_HOME: home };
  delete env.XDG_RUNTIME_DIR;
  delete env.VIRTDESK_RUNTIME_DIR;
  const guest = await testGuestFiles();
  const def = createVmDefinition({
    name: 'bench',
    accelerator: 'tcg',
    memory: { maximumMiB: 256 },
    directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
    nics: [],
  });
  await openVmStore(home).create(def);
  const cli = await builtCliWithVmCommands(env);
  const ctx: VmStartBenchContext = { home, env, def, ...(cli ? { cli } : {}) };
  return {
    ...ctx,
    async dispose() {
      const pid = await findRunningQemu(vmRuntimePaths(home, def.id, env));
      if (pid !== undefined) {
        process.kill(pid, 'SIGKILL');
        await waitForExit(pid, 5000);
      }
      await rm(home, { recursive: true, force: true });
    },
  };
}

const RAW = 'raw qemu-system-x86_64';
const CLI = 'virtdesk vm start (CLI process)';
const ENGINE = 'engine startVm (in process)';
const VIRSH = 'virsh start (libvirt, equivalent domain)';

/**
 * Suite 1 (issue 3's benchmark): `virtdesk vm start` to the first VNC framebuffer update against
 * raw qemu-system-x86_64 with the same argv to the same point, and against `virsh start` of an
 * equivalent libvirt domain where libvirt is installed. Target: median overhead ≤ 100 ms.
 */
export const vmStartSuite: SuiteDefinition = {
  id: 'vm-start',
  title: 'VM start to first VNC framebuffer update (TCG, test guest, 256 MiB)',
  unit: 'ms',
  better: 'lower',
  reference: RAW,
  target: 'virtdesk vm start: median at most 100 ms more than raw QEMU',
  rounds: { full: 7, quick: 2 },
  async setup(context) {
    const bench = await prepareVmStartBench();
    let domain: LibvirtDomain | undefined;
    const dispose = async () => {
      await domain?.undefine();
      await bench.dispose();
    };
    try {
      // Warm the host caches (QEMU probe, CPU model) the way any first start does.
      await measureEngineStart(bench);
      const libvirtMissing = await libvirtUnavailable();
      if (!libvirtMissing) {
        domain = await defineDomain(bench.def);
        await measureVirshStart(domain); // libvirt's first start fills its own caches
      }
      context.log(`home ${bench.home}; ${bench.cli ? `CLI ${bench.cli}` : 'the built CLI has no vm commands: CLI variant skipped'}`);
      context.log(libvirtMissing ? `libvirt variant skipped: ${libvirtMissing}` : `libvirt domain ${domain!.name} (virsh start, same guest and devices)`);
      const variants: Variant[] = [
        { label: RAW, measure: () => measureRawQemu(bench) },
        { label: CLI, measure: () => measureCliStart(bench), ...(bench.cli ? {} : { skip: 'build the CLI with the vm commands wired (npm run build)' }) },
        { label: ENGINE, measure: () => measureEngineStart(bench) },
        { label: VIRSH, measure: () => measureVirshStart(domain!), ...(libvirtMissing ? { skip: libvirtMissing } : {}) },
      ];
      return { variants, dispose };
    } catch (error) {
      await dispose();
      throw error;
    }
  },
  verdict: (variants: VariantResult[]) => {
    // Medians of per-round differences: each round's samples were taken back to back.
    const overhead = pairedMedian(variants, CLI, RAW, difference);
    const engine = pairedMedian(variants, ENGINE, RAW, difference);
    const libvirt = pairedMedian(variants, VIRSH, RAW, difference);
    if (overhead === undefined) return undefined;
    const others = [engine === undefined ? '' : `the engine in process ${engine.toFixed(0)} ms`, libvirt === undefined ? '' : `virsh start ${libvirt.toFixed(0)} ms`].filter(Boolean).join(', ');
    return `${overhead <= 100 ? 'MET' : 'NOT MET'}: virtdesk vm start is ${overhead.toFixed(0)} ms over raw QEMU (target ≤ 100 ms)${others ? `; ${others}` : ''}`;
  },
};
