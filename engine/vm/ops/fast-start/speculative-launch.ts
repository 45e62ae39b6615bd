import { access, readFile } from 'node:fs/promises';
import { discardSpawnedQemu, spawnQemu, type SpawnedQemu } from '../../runtime/launcher';
import { savedStateRecordFile, templateMarkFile, vmDefinitionFile, vmRuntimePaths, type VmRuntimePaths } from '../../runtime/paths';
import { tryStartLock } from '../../runtime/start-lock';
import { definitionFingerprint, launchCacheKey, readLaunchCache } from './launch-cache';

/**
 * A QEMU spawned paused from a VM's launch cache while the engine is still loading. Node's own
 * start-up and loading the engine take longer than QEMU needs to open its sockets, so doing both
 * at once is what brings `virtdesk vm start` close to a bare QEMU. The start that claims it plans
 * as usual and adopts it only when its command line is exactly the one planned; otherwise, or on
 * any failure before that, it is killed: the guest never ran, so nothing is lost.
 */
export interface SpeculativeLaunch {
  vmId: string;
  paths: VmRuntimePaths;
  spawned: SpawnedQemu;
  /** Releases the VM's start lock, taken before spawning and held until the claiming start ends. */
  releaseStartLock: () => Promise<void>;
}

/** In qemu.log's header of a QEMU spawned this way. */
export const SPECULATIVE_NOTE = 'spawned from the launch cache while the engine loads';

/**
 * Launches not yet claimed by a start, per VM id. Kept on the process, not in this module: the
 * CLI's CommonJS entry and the ES module engine each bundle a copy of this file.
 */
function unclaimedLaunches(): Map<string, SpeculativeLaunch> {
  const key = Symbol.for('virtdesk.unclaimed-speculative-launches');
  const slots = globalThis as unknown as Record<symbol, Map<string, SpeculativeLaunch> | undefined>;
  let launches = slots[key];
  if (!launches) {
    launches = new Map();
    slots[key] = launches;
    killUnclaimedAtExit(launches);
  }
  return launches;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** A CLI that fails before claiming its QEMU must not leave it paused behind it. */
function killUnclaimedAtExit(launches: Map<string, SpeculativeLaunch>): void {
  process.on('exit', () => {
    for (const launch of launches.values()) {
      try {
        if (launch.spawned.child.pid !== undefined) process.kill(launch.spawned.child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
}

/**
 * Spawns VM `vmName`'s QEMU from its launch cache when the definition, the QEMU binary and the
 * runtime folder are those it was computed for, and the VM is neither running, saved nor a
 * template. Never throws: any doubt means no guess, and the normal start does all the work.
 */
export async function launchSpeculatively(home: string, vmName: string, env: NodeJS.ProcessEnv): Promise<SpeculativeLaunch | undefined> {
  try {
    const entry = await readLaunchCache(home, vmName);
    if (!entry) return undefined;
    const [text, saved, template] = await Promise.all([
      readFile(vmDefinitionFile(home, entry.vmId), 'utf8'),
      exists(savedStateRecordFile(home, entry.vmId)),
      exists(templateMarkFile(home, entry.vmId)),
    ]);
    if (saved || template) return undefined;
    const stored: unknown = JSON.parse(text);
    if (typeof stored !== 'object' || stored === null || (stored as { name?: unknown }).name !== vmName) return undefined;
    const paths = vmRuntimePaths(home, entry.vmId, env);
    const key = await launchCacheKey({ definition: definitionFingerprint(stored), binary: entry.binary, runDir: paths.runDir });
    if (key !== entry.key) return undefined;
    // Another start of this VM is under way: no guess; the normal start waits for it.
    const releaseStartLock = await tryStartLock(paths, vmName);
    if (!releaseStartLock) return undefined;
    let spawned;
    try {
      // Refuses (throws) when the VM's QEMU is already running, before touching its files.
      spawned = await spawnQemu({ vmId: entry.vmId, vmName, binary: entry.binary, args: entry.args, paths, env, note: SPECULATIVE_NOTE });
    } catch (error) {
      await releaseStartLock();
      throw error;
    }
    // Detached QEMU must not keep this process alive; unclaimed, it is killed at exit instead.
    spawned.child.unref();
    const launch = { vmId: entry.vmId, paths, spawned, releaseStartLock };
    unclaimedLaunches().set(entry.vmId, launch);
    return launch;
  } catch {
    return undefined;
  }
}

/** Hands VM `vmId`'s speculative QEMU to the start that will adopt or discard it (once). */
export function claimSpeculativeLaunch(vmId: string): SpeculativeLaunch | undefined {
  const launches = unclaimedLaunches();
  const launch = launches.get(vmId);
  launches.delete(vmId);
  // The claimer waits on it (its exit, its sockets) like on a QEMU it spawned itself.
  launch?.spawned.child.ref();
  return launch;
}

/** The start did not use it: kill the paused QEMU and clear its sockets. */
export async function discardSpeculativeLaunch(launch: SpeculativeLaunch): Promise<void> {
  await discardSpawnedQemu(launch.spawned, launch.paths);
}

/** Whether `launch` runs exactly the command line a start planned. */
export function matchesPlan(launch: SpeculativeLaunch, plan: { binary: string; args: readonly string[] }): boolean {
  const { binary, args } = launch.spawned;
  return binary === plan.binary && args.length === plan.args.length && args.every((arg, index) => arg === plan.args[index]);
}
