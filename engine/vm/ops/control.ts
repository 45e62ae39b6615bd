import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../api/errors';
import type { VmDefinition } from '../../model';
import type { NetworkManager } from '../../network/network-manager';
import { releaseNicBackends } from '../../network/nic-backends';
import { QmpClosedError } from '../../qemu/qmp';
import { waitForExit } from '../runtime/pidfile';
import { withCommandQmp } from '../runtime/qmp-session';
import { vmStateOfRunState } from '../states';
import { clearAfterExit, vmRuntimePaths, type VmRuntimePaths } from '../runtime/paths';
import { writeLastExit, writeStopIntent } from '../runtime/records';
import { assertOperationAllowed, type ExitReason, type VmOperation } from '../states';
import { probeVmStatus } from '../runtime/probe';

/**
 * Operations on a running VM through its one-shot QMP monitor. They work from any process (the
 * CLI, the app host) with or without a supervisor attached: the supervisor hears the effects as
 * QMP events, which QEMU sends to every monitor.
 */
export interface ControlContext {
  home: string;
  env: NodeJS.ProcessEnv;
  /** To give back taps on virtual networks after a stop. */
  networks?: NetworkManager;
}

/** How long a reboot waits for the guest to shut down before it gives up (the VM keeps running). */
export const REBOOT_TIMEOUT_MS = 60_000;
const QUIT_TIMEOUT_MS = 3000;
const EXIT_AFTER_QUIT_MS = 5000;

function pathsOf(def: VmDefinition, ctx: ControlContext): VmRuntimePaths {
  return vmRuntimePaths(ctx.home, def.id, ctx.env);
}

/** Checks the live state allows `operation`; returns QEMU's pid. */
async function requireState(def: VmDefinition, ctx: ControlContext, operation: VmOperation): Promise<{ pid: number; paths: VmRuntimePaths }> {
  const paths = pathsOf(def, ctx);
  const status = await probeVmStatus(paths, def.name);
  assertOperationAllowed(operation, status.state, def.name);
  if (status.pid === undefined) throw new EngineError('invalid-state', `VM "${def.name}" is not running.`);
  return { pid: status.pid, paths };
}

/** After QEMU ended: why, runtime files, and the host side of its NICs (taps, link sockets). */
export async function recordExit(def: VmDefinition, ctx: ControlContext, paths: VmRuntimePaths, pid: number, reason: ExitReason): Promise<void> {
  await writeLastExit(paths, { pid, at: new Date().toISOString(), reason });
  await clearAfterExit(paths, pid);
  await releaseNicBackends(def, { home: ctx.home, env: ctx.env, ...(ctx.networks ? { networks: ctx.networks } : {}) }).catch(() => undefined);
}

/** Ends QEMU now: `quit` over QMP, then SIGKILL if it does not go. Records a user stop. */
async function forceOff(def: VmDefinition, ctx: ControlContext, paths: VmRuntimePaths, pid: number): Promise<void> {
  await writeStopIntent(paths, { pid, forced: true, at: new Date().toISOString() });
  try {
    await withCommandQmp(paths, def.name, (qmp) => qmp.quit(QUIT_TIMEOUT_MS), { timeoutMs: QUIT_TIMEOUT_MS });
  } catch {
    // A hung QEMU (or a busy monitor) gets the signal below.
  }
  if (!(await waitForExit(pid, EXIT_AFTER_QUIT_MS))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // It went by itself in the meantime.
    }
    if (!(await waitForExit(pid, EXIT_AFTER_QUIT_MS))) {
      throw new EngineError('internal', `QEMU of VM "${def.name}" (pid ${pid}) survived SIGKILL.`, { hint: 'It may be stuck in the kernel (D state); check `ps -o stat -p ' + pid + '`.' });
    }
  }
  await recordExit(def, ctx, paths, pid, { kind: 'user-stopped', forced: true });
}

export interface StopOptions {
  /** Skip the ACPI request and end QEMU at once. */
  force?: boolean;
  /** How long to wait for the guest to power off after the ACPI request. It is never forced for this; 0 (the default) returns once asked. */
  waitMs?: number;
  /** Force off when the guest has not powered off this long after the ACPI request. Only when asked: a guest may be installing updates. */
  forceAfterMs?: number;
}

export interface StopResult {
  /** QEMU has ended (shut down by the guest, or forced off). */
  stopped: boolean;
  /** QEMU was ended without the guest's cooperation (force, or `forceAfterMs` ran out). */
  forced: boolean;
}

/**
 * Presses the ACPI power button and waits as asked for the guest to power off. A guest still
 * running after `waitMs` is left running (`stopped: false`); only `force` or `forceAfterMs` end it.
 */
export async function stopVm(def: VmDefinition, ctx: ControlContext, options: StopOptions = {}): Promise<StopResult> {
  const { pid, paths } = await requireState(def, ctx, options.force ? 'force-stop' : 'stop');
  if (options.force) {
    await forceOff(def, ctx, paths, pid);
    return { stopped: true, forced: true };
  }
  // Whoever sees QEMU end later (a supervisor, the next probe) knows the user asked for it.
  await writeStopIntent(paths, { pid, forced: false, at: new Date().toISOString() });
  await withCommandQmp(paths, def.name, async (qmp) => {
    // A paused guest cannot see the button; let it run so it can shut down.
    const status = await qmp.queryStatus();
    if (vmStateOfRunState(status.state) === 'paused') await qmp.cont();
    await qmp.systemPowerdown();
  });
  const waitMs = options.forceAfterMs ?? options.waitMs ?? 0;
  if (await waitForExit(pid, waitMs, 100)) {
    await recordExit(def, ctx, paths, pid, { kind: 'user-stopped', forced: false });
    return { stopped: true, forced: false };
  }
  if (options.forceAfterMs === undefined) return { stopped: false, forced: false };
  await forceOff(def, ctx, paths, pid);
  return { stopped: true, forced: true };
}

export async function pauseVm(def: VmDefinition, ctx: ControlContext): Promise<void> {
  const { paths } = await requireState(def, ctx, 'pause');
  await withCommandQmp(paths, def.name, (qmp) => qmp.stop());
}

export async function resumeVm(def: VmDefinition, ctx: ControlContext): Promise<void> {
  const { paths } = await requireState(def, ctx, 'resume');
  await withCommandQmp(paths, def.name, (qmp) => qmp.cont());
}

/** Hard reset, like the reset button: no guest cooperation. */
export async function resetVm(def: VmDefinition, ctx: ControlContext): Promise<void> {
  const { paths } = await requireState(def, ctx, 'reset');
  await withCommandQmp(paths, def.name, (qmp) => qmp.systemReset());
}

/**
 * A clean reboot: the guest shuts down through ACPI, QEMU is told to pause instead of exiting,
 * then it is reset and resumed (libvirt's "fake reboot", without -no-shutdown).
 */
export async function rebootVm(def: VmDefinition, ctx: ControlContext, options: { timeoutMs?: number } = {}): Promise<void> {
  const { paths } = await requireState(def, ctx, 'reboot');
  const deadline = Date.now() + (options.timeoutMs ?? REBOOT_TIMEOUT_MS);
  await withCommandQmp(paths, def.name, async (qmp) => {
    await qmp.setShutdownAction('pause');
    try {
      await qmp.systemPowerdown();
      for (;;) {
        const status = await qmp.queryStatus();
        if (status.state === 'shutdown') break;
        if (Date.now() > deadline) {
          throw new EngineError('timeout', `VM "${def.name}" did not shut down for the reboot in time (the guest ignored the ACPI request).`, {
            hint: `Reset it instead with the reset action, or stop it with \`virtdesk vm stop --force ${def.name}\`.`,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await qmp.systemReset();
      await qmp.cont();
    } finally {
      await qmp.setShutdownAction('poweroff').catch((error: unknown) => {
        if (!(error instanceof QmpClosedError)) throw error;
      });
    }
  });
}

/** Writes the VM's screen as PNG to `out` (absolute path), through a file in the private runtime folder. */
export async function screenshotVm(def: VmDefinition, ctx: ControlContext, out: string): Promise<void> {
  const png = await screenshotPng(def, ctx);
  const temp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, png);
    await rename(temp, out);
  } catch (error) {
    await rm(temp, { force: true });
    throw new EngineError('permission-denied', `Cannot write the screenshot to ${out}: ${(error as Error).message}`);
  }
}

/** The VM's screen as PNG bytes. */
export async function screenshotPng(def: VmDefinition, ctx: ControlContext): Promise<Buffer> {
  if (def.display.video === 'none') {
    throw new EngineError('invalid-state', `VM "${def.name}" has no display to take a screenshot of.`, { hint: 'Give it a video device.' });
  }
  const { paths } = await requireState(def, ctx, 'screenshot');
  const file = join(paths.runDir, `screendump-${randomBytes(6).toString('hex')}.png`);
  try {
    await withCommandQmp(paths, def.name, (qmp) => qmp.screendumpPng(file));
    return await readFile(file);
  } finally {
    await rm(file, { force: true });
  }
}

/** Presses keys together by QEMU qcode, e.g. `['ctrl', 'alt', 'delete']`. */
export async function sendKeysVm(def: VmDefinition, ctx: ControlContext, qcodes: readonly string[], holdTimeMs?: number): Promise<void> {
  if (qcodes.length === 0) throw new EngineError('invalid-argument', 'No keys to send.');
  const { paths } = await requireState(def, ctx, 'send-keys');
  await withCommandQmp(paths, def.name, (qmp) => qmp.sendKeys(qcodes, holdTimeMs));
}
