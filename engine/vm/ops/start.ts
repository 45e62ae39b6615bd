import { copyFile, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EngineError } from '../../api/errors';
import { decideAccelerator, type AccelDecision } from '../../host/accel';
import { loadQemuCapabilities } from '../../host/capabilities';
import { chooseCpuModel, type CpuModelChoice } from '../../host/cpu-model';
import { findQemu } from '../../host/find-qemu';
import { findUefiFirmware } from '../../host/firmware';
import { hostLimits } from '../../host/limits';
import { readHostResources } from '../../host/memory';
import type { QemuCapabilities } from '../../host/probe';
import { assertValidVmDefinition, type VmDefinition } from '../../model';
import type { NetworkManager } from '../../network/network-manager';
import { prepareNicBackends, releaseNicBackends } from '../../network/nic-backends';
import { buildQemuArgv, type ArgvOptions, type NicBackend, type ResolvedFirmware } from '../../qemu/argv';
import { QmpClient } from '../../qemu/qmp';
import { assertNotTemplate } from './clone/template';
import { assertFilesUsable } from '../runtime/file-checks';
import { canGuessLaunch, definitionFingerprint, launchCacheKey, writeLaunchCache } from './fast-start/launch-cache';
import { discardSpeculativeLaunch, matchesPlan, type SpeculativeLaunch } from './fast-start/speculative-launch';
import { awaitQemuReady, launchQemu } from '../runtime/launcher';
import { findRunningQemu, waitForExit } from '../runtime/pidfile';
import { clearAfterExit, vmDefinitionFile, vmRuntimePaths, type VmRuntimePaths } from '../runtime/paths';
import { clearLastExit, writeLastExit, writeRuntimeRecord, type RuntimeRecord } from '../runtime/records';
import { acquireStartLock } from '../runtime/start-lock';
import { assertOperationAllowed } from '../states';
import { resumeFromSavedState } from './save-restore/restore';
import type { StartResume } from './start-resume';
import { probeVmStatus } from '../runtime/probe';

export interface StartContext {
  home: string;
  env: NodeJS.ProcessEnv;
  /** Every other definition, to check clashes (MACs, links) and to name who holds a locked disk. */
  others?: readonly VmDefinition[];
  /** Virtual networks, for NICs on them (the app and `serve` have one; the CLI does not). */
  networks?: NetworkManager;
  /** Replaces engine/network's prepareNicBackends (tests). */
  resolveNicBackends?: (def: VmDefinition, paths: VmRuntimePaths) => Promise<Record<string, NicBackend>>;
  /** Budget for QEMU to open its sockets and answer QMP. */
  timeoutMs?: number;
  /** Timing hook (benchmarks). */
  onPhase?: (phase: 'planned' | 'spawned' | 'socket' | 'connected' | 'running') => void;
  /** A VM with a saved state (`virtdesk vm save`) is restored from it; this throws the state away and boots afresh instead. */
  discardSaved?: boolean;
  /** Start into a given state instead of a fresh boot (a memory snapshot's revert); a saved state is then left alone. */
  resume?: StartResume;
  /** A QEMU already spawned from the launch cache (the CLI's fast path): adopted if it runs the planned argv, else killed. */
  speculative?: SpeculativeLaunch;
}

/** What the host resolved for a VM before building its command line. */
export interface StartPlan {
  binary: string;
  args: string[];
  paths: VmRuntimePaths;
  accel: AccelDecision;
  cpuModel: CpuModelChoice;
  caps: QemuCapabilities;
}

export interface StartResult {
  pid: number;
  /** Set when the guest continued from a saved state or snapshot instead of booting. */
  resumed?: StartResume['what'];
  plan: StartPlan;
  runtime: RuntimeRecord;
  /** QEMU's exit status; only this (parent) process learns it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The per-VM UEFI variable store, copied from the firmware's template on first use. */
async function ensureNvram(def: VmDefinition, paths: VmRuntimePaths): Promise<ResolvedFirmware | undefined> {
  if (def.firmware.type !== 'uefi') return undefined;
  const choice = await findUefiFirmware({ machine: def.machine, secureBoot: def.firmware.secureBoot });
  const varsFile = join(dirname(paths.serialLog), `nvram${def.firmware.secureBoot ? '-secboot' : ''}.${choice.varsFormat === 'qcow2' ? 'qcow2' : 'fd'}`);
  try {
    await stat(varsFile);
  } catch {
    await copyFile(choice.varsTemplate, varsFile);
  }
  return { code: choice.code, varsFile, format: choice.codeFormat === 'qcow2' ? 'qcow2' : 'raw' };
}

/**
 * What each NIC's `-netdev` needs, from engine/network: taps on virtual networks, bridge helper
 * checks, link sockets; forwarded host ports of user NICs are checked to be free (naming who holds one).
 */
async function nicBackends(def: VmDefinition, paths: VmRuntimePaths, ctx: StartContext): Promise<Record<string, NicBackend>> {
  if (ctx.resolveNicBackends) return ctx.resolveNicBackends(def, paths);
  const onNetwork = def.nics.find((nic) => nic.network.kind === 'network');
  if (onNetwork && !ctx.networks) {
    throw new EngineError('unavailable', `NIC ${onNetwork.id} of VM "${def.name}" is on a virtual network, which this process cannot set up.`, {
      hint: 'Start the VM from the app or `virtdesk serve`, which manage virtual networks; or use user networking.',
    });
  }
  return prepareNicBackends(def, { home: ctx.home, env: ctx.env, ...(ctx.networks ? { networks: ctx.networks } : {}) });
}

/**
 * Everything before QEMU runs: checks, host decisions (accelerator, CPU model, firmware) and the
 * argv. Host probes are cached per QEMU binary, so after the first start this costs milliseconds.
 */
export async function planStart(def: VmDefinition, ctx: StartContext, extra: Pick<ArgvOptions, 'incoming' | 'machineType'> = {}): Promise<StartPlan> {
  const paths = vmRuntimePaths(ctx.home, def.id, ctx.env);
  const binary = await findQemu(ctx.env);
  const caps = await loadQemuCapabilities({ binary, home: ctx.home, env: ctx.env });
  const resources = await readHostResources();
  assertValidVmDefinition(def, { others: ctx.others ?? [], host: hostLimits(resources, caps, def.machine) });
  await assertFilesUsable(def);
  const accel = await decideAccelerator(def.accelerator, { qemuAccelerators: caps.accelerators });
  const cpuModel = await chooseCpuModel({ binary, accel: accel.accel, requested: def.cpu.model, machine: def.machine, home: ctx.home });
  const firmware = await ensureNvram(def, paths);
  const backends = await nicBackends(def, paths, ctx);
  const args = buildQemuArgv({
    definition: def,
    accel: accel.accel,
    cpuModel: cpuModel.model,
    ...(firmware ? { firmware } : {}),
    paths,
    caps: { devices: new Set(caps.devices) },
    nicBackends: backends,
    // Viewers get a one-time password each (vms.openConsole); without one nobody gets the screen.
    options: { vncPassword: true, ...extra },
  });
  return { binary, args, paths, accel, cpuModel, caps };
}

/** Adds who holds a locked disk to QEMU's image-lock error, when another definition uses it. */
async function explainLock(error: unknown, def: VmDefinition, ctx: StartContext): Promise<unknown> {
  if (!(error instanceof EngineError) || error.code !== 'conflict') return error;
  const holders: string[] = [];
  for (const other of ctx.others ?? []) {
    if (other.id === def.id) continue;
    const shares = other.disks.some((disk) => def.disks.some((mine) => mine.source === disk.source));
    if (!shares) continue;
    if ((await findRunningQemu(vmRuntimePaths(ctx.home, other.id, ctx.env))) !== undefined) holders.push(`"${other.name}"`);
  }
  if (holders.length === 0) return error;
  return new EngineError('conflict', `${error.message.replace(/\.$/, '')}: VM ${holders.join(', ')} has it open.`, {
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

/** Keeps this start's command line for the next CLI start to guess from (engine/vm/ops/fast-start). */
async function rememberLaunch(def: VmDefinition, plan: StartPlan, ctx: StartContext): Promise<void> {
  if (!canGuessLaunch(def)) return;
  // Only when vm.json is still exactly what was started: the fast path fingerprints the file.
  const definition = definitionFingerprint(def);
  const stored: unknown = JSON.parse(await readFile(vmDefinitionFile(ctx.home, def.id), 'utf8'));
  if (definitionFingerprint(stored) !== definition) return;
  const key = await launchCacheKey({ definition, binary: plan.binary, runDir: plan.paths.runDir });
  if (key) await writeLaunchCache(ctx.home, def.name, { version: 1, vmId: def.id, key, binary: plan.binary, args: plan.args });
}

/**
 * Starts a VM: plan, launch QEMU detached and paused, connect to its one-shot QMP monitor
 * (which only answers once every device is created), record what was decided, `cont`.
 * Works from any process; the VM does not depend on the caller staying alive. One start of a VM
 * runs at a time across processes (./start-lock); a second one then finds it running.
 */
export async function startVm(def: VmDefinition, ctx: StartContext): Promise<StartResult> {
  const paths = vmRuntimePaths(ctx.home, def.id, ctx.env);
  const release = ctx.speculative?.releaseStartLock ?? (await acquireStartLock(paths, def.name));
  try {
    return await startHoldingLock(def, ctx, paths);
  } finally {
    await release();
  }
}

async function startHoldingLock(def: VmDefinition, ctx: StartContext, paths: VmRuntimePaths): Promise<StartResult> {
  let speculative = ctx.speculative;
  let resume: StartResume | undefined;
  let plan: StartPlan;
  try {
    // A speculative launch checked that no QEMU ran before spawning its own (now running, paused).
    if (!speculative) assertOperationAllowed('start', (await probeVmStatus(paths, def.name)).state, def.name);
    await assertNotTemplate(ctx.home, def);
    resume = ctx.resume ?? (await resumeFromSavedState(def, ctx));
    plan = await planStart(def, ctx, {
      ...(resume?.incoming ? { incoming: resume.incoming } : {}),
      ...(resume?.machineType ? { machineType: resume.machineType } : {}),
    });
  } catch (error) {
    if (speculative) await discardSpeculativeLaunch(speculative);
    throw error;
  }
  if (speculative && (resume || !matchesPlan(speculative, plan))) {
    await discardSpeculativeLaunch(speculative);
    speculative = undefined;
  }
  ctx.onPhase?.('planned');
  let launched;
  try {
    const request = {
      vmId: def.id,
      vmName: def.name,
      binary: plan.binary,
      args: plan.args,
      paths,
      env: ctx.env,
      ...(ctx.timeoutMs === undefined ? {} : { timeoutMs: ctx.timeoutMs }),
      ...(ctx.onPhase ? { onPhase: ctx.onPhase } : {}),
      // waitForSocket: QEMU binds the socket a moment before it listens on it.
      connect: () => QmpClient.connect(paths.qmpCommandSocket, { timeoutMs: ctx.timeoutMs ?? 30_000, waitForSocket: true }),
    };
    launched = speculative ? await awaitQemuReady(speculative.spawned, request) : await launchQemu(request);
  } catch (error) {
    await releaseNicBackends(def, { home: ctx.home, env: ctx.env, ...(ctx.networks ? { networks: ctx.networks } : {}) }).catch(() => undefined);
    const explained = await explainLock(error, def, ctx);
    if (explained instanceof EngineError) {
      await writeLastExit(paths, { pid: null, at: new Date().toISOString(), reason: { kind: 'failed-to-start', message: explained.message } }).catch(() => undefined);
    }
    throw explained;
  }
  const qmp = launched.connection;
  const runtime: RuntimeRecord = {
    pid: launched.pid,
    startedAt: new Date().toISOString(),
    accelerator: plan.accel.accel,
    acceleratorReason: plan.accel.reason,
    cpuModel: plan.cpuModel.model,
    cpuModelReason: plan.cpuModel.reason,
    qemuLogOffset: launched.logOffset,
  };
  try {
    await Promise.all([writeRuntimeRecord(paths, runtime), clearLastExit(paths)]);
    const run = resume ? (await resume.prepare(qmp, { qemuLog: paths.qemuLog, logOffset: launched.logOffset })).run : true;
    if (run) await qmp.cont();
    ctx.onPhase?.('running');
  } catch (error) {
    // Half-started: don't leave a paused QEMU behind.
    try {
      process.kill(launched.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    await waitForExit(launched.pid, 5000);
    if (resume) {
      // Nobody watches this QEMU yet: say why it ended and give its NICs back.
      await releaseNicBackends(def, { home: ctx.home, env: ctx.env, ...(ctx.networks ? { networks: ctx.networks } : {}) }).catch(() => undefined);
      const message = error instanceof Error ? error.message : String(error);
      await writeLastExit(paths, { pid: launched.pid, at: new Date().toISOString(), reason: { kind: 'failed-to-start', message } }).catch(() => undefined);
      await clearAfterExit(paths, launched.pid).catch(() => undefined);
    }
    throw error;
  } finally {
    await qmp.close().catch(() => undefined);
  }
  await resume?.done?.();
  if (!resume) await rememberLaunch(def, plan, ctx).catch(() => undefined);
  return { pid: launched.pid, plan, runtime, exited: launched.exited, ...(resume ? { resumed: resume.what } : {}) };
}
