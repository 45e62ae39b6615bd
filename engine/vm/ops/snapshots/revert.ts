import { EngineError } from '../../../api/errors';
import { loadQemuCapabilities } from '../../../host/capabilities';
import { findQemu } from '../../../host/find-qemu';
import { parseVmDefinition, type VmDefinition } from '../../../model';
import type { QmpClient } from '../../../qemu/qmp';
import { formatNodeName } from '../../../qemu/argv/ids';
import { assertNotTemplate } from '../clone/template';
import { withCommandQmp } from '../../runtime/qmp-session';
import { VmRegistry } from '../../definitions/registry';
import { vmDataDir, vmRuntimePaths, type VmRuntimePaths } from '../../runtime/paths';
import { assertMachineAvailable } from '../save-restore/machine-fit';
import { discardSavedState, readSavedState } from '../save-restore/saved-state';
import { probeVmStatus } from '../../runtime/probe';
import { hardwareChanges } from './hardware-diff';
import { imageFacts, imageSnapshot } from './image-snapshots';
import type { SnapshotContext, VmLifecycle } from './lifecycle';
import { copyNvramFiles } from './nvram';
import { attachedNodes } from './snapshot-disks';
import { snapshotInfo, type SnapshotInfo } from './snapshot-info';
import { runSnapshotJob } from './snapshot-jobs';
import { findSnapshot, readSnapshotRecords, snapshotFolder, withSnapshotLock, writeCurrentSnapshotId, type SnapshotRecord } from './snapshot-store';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RevertRequest {
  /**
   * The caller asked the person: reverting throws away the VM's current state (a running guest,
   * every disk change since the snapshot, a saved state). Without it the revert is refused.
   */
  discardCurrentState: boolean;
  /** After reverting to a disk-only snapshot, boot the VM (it is left stopped otherwise). */
  start?: boolean;
}

export interface RevertResult {
  snapshot: SnapshotInfo;
  /**
   * in-place: the running QEMU loaded the snapshot (consoles stay connected); restarted: QEMU was
   * (re)started for it; stopped: the disks were reverted and the VM is stopped.
   */
  mode: 'in-place' | 'restarted' | 'stopped';
}

/**
 * Every image must still be the qcow2 file holding the snapshot. One converted to raw (or
 * replaced) lost it; reverting the others would mix times, so nothing is reverted.
 */
async function assertImagesHoldSnapshot(record: SnapshotRecord, vmName: string, env: NodeJS.ProcessEnv): Promise<void> {
  for (const disk of record.disks) {
    let facts;
    try {
      facts = await imageFacts(disk.source, env);
    } catch (error) {
      throw new EngineError('invalid-state', `Cannot revert VM "${vmName}" to snapshot "${record.name}": the image of disk ${disk.id} (${disk.source}) cannot be read: ${(error as Error).message}`, {
        hint: 'Put the image back where it was, or delete the snapshot.',
      });
    }
    if (facts.format !== 'qcow2') {
      throw new EngineError(
        'invalid-state',
        `Cannot revert VM "${vmName}" to snapshot "${record.name}": disk ${disk.id} (${disk.source}) is now a ${facts.format} image, but the snapshot was kept inside it when it was qcow2; converting it dropped the snapshot.`,
        { hint: 'Nothing was changed. Put the qcow2 image back (if you kept it) to revert, or delete this snapshot.', details: { disk: disk.id, format: facts.format } },
      );
    }
    if (!facts.tags.has(record.tag)) {
      throw new EngineError('invalid-state', `Cannot revert VM "${vmName}" to snapshot "${record.name}": the image of disk ${disk.id} (${disk.source}) no longer holds it (the file was replaced or the snapshot removed by another tool).`, {
        hint: 'Nothing was changed. Delete this snapshot.',
        details: { disk: disk.id },
      });
    }
  }
}

async function hasPendingRestart(paths: VmRuntimePaths): Promise<boolean> {
  try {
    const value = JSON.parse(await readFile(join(paths.runDir, 'pending-restart.json'), 'utf8')) as unknown;
    return Array.isArray(value) && value.length > 0;
  } catch {
    return false;
  }
}

async function loadInto(qmp: QmpClient, record: SnapshotRecord, vmName: string): Promise<void> {
  const nodes = await attachedNodes(qmp, record.disks, vmName);
  await runSnapshotJob(qmp, 'snapshot-load', { tag: record.tag, vmstate: formatNodeName(record.vmstateDisk ?? record.disks[0]!.id), devices: nodes });
}

/**
 * Reverts a VM to a snapshot: its disks, its definition of that moment, and for a memory snapshot
 * the running guest where it was (loaded into the running QEMU when the hardware is the same, else
 * into a freshly started one). Refuses — changing nothing — unless the caller confirmed that the
 * current state is thrown away, and when an image lost the snapshot.
 */
export async function revertSnapshot(ctx: SnapshotContext, def: VmDefinition, ref: string, request: RevertRequest, lifecycle: VmLifecycle): Promise<RevertResult> {
  await assertNotTemplate(ctx.home, def, 'revert to a snapshot of');
  return withSnapshotLock(ctx.home, def.id, async () => {
    const { records } = await readSnapshotRecords(ctx.home, def.id);
    const record = findSnapshot(records, ref, def.name);
    const paths = vmRuntimePaths(ctx.home, def.id, ctx.env);
    const status = await probeVmStatus(paths, def.name);
    const live = status.pid !== undefined && (status.state === 'running' || status.state === 'paused');
    const saved = await readSavedState(ctx.home, def.id);
    if (!request.discardCurrentState) {
      const lost = [live ? 'the running guest' : undefined, 'every disk change made since then', saved ? 'its saved state' : undefined].filter(Boolean);
      throw new EngineError('invalid-argument', `Reverting VM "${def.name}" to snapshot "${record.name}" throws away its current state: ${lost.join(', ')}.`, {
        hint: 'Confirm that this is wanted (CLI: --yes), or take a snapshot of the current state first.',
        details: { needsConfirmation: true },
      });
    }
    if (status.state === 'starting' || status.state === 'shutting-down') {
      throw new EngineError('invalid-state', `Cannot revert VM "${def.name}" while it is ${status.state === 'starting' ? 'starting' : 'shutting down'}.`, { hint: 'Wait a moment and try again.' });
    }
    let snapshotDef: VmDefinition;
    try {
      snapshotDef = parseVmDefinition(record.definition);
    } catch (error) {
      throw new EngineError('invalid-state', `Snapshot "${record.name}" of VM "${def.name}" holds a definition this version cannot read: ${(error as Error).message}`, { hint: 'Delete the snapshot.' });
    }
    await assertImagesHoldSnapshot(record, def.name, ctx.env);
    if (record.kind === 'with-memory') {
      const caps = await loadQemuCapabilities({ binary: await findQemu(ctx.env), home: ctx.home, env: ctx.env });
      assertMachineAvailable(record.machineType ?? snapshotDef.machine, caps, `Snapshot "${record.name}" of VM "${def.name}"`, 'Install a QEMU that has it, or revert to a disk-only snapshot.');
    }

    // From here on the current state goes.
    if (saved) await discardSavedState(ctx.home, def.id);
    const registry = new VmRegistry(ctx.home, ctx.env);
    const writeDefinition = () =>
      registry.store.update(def.id, (fresh) => ({ ...snapshotDef, id: fresh.id, name: fresh.name, createdAt: fresh.createdAt, autostart: fresh.autostart }));
    const restoreNvram = async () => {
      if (record.nvram) await copyNvramFiles(snapshotFolder(ctx.home, def.id, record.id), vmDataDir(ctx.home, def.id));
    };

    let mode: RevertResult['mode'];
    if (record.kind === 'with-memory') {
      const sameHardware = live && hardwareChanges(def, snapshotDef).length === 0 && !(await hasPendingRestart(paths));
      if (sameHardware) {
        await withCommandQmp(
          paths,
          def.name,
          async (qmp) => {
            await restoreNvram();
            await loadInto(qmp, record, def.name);
            const now = await qmp.queryStatus();
            if (record.vmState === 'running' && !now.running) await qmp.cont();
            if (record.vmState === 'paused' && now.running) await qmp.stop();
          },
          { commandTimeoutMs: 10 * 60_000 },
        );
        await writeDefinition();
        mode = 'in-place';
      } else {
        if (live) await lifecycle.forceOff(def);
        await restoreNvram();
        const stored = await writeDefinition();
        await lifecycle.start(stored, {
          what: 'snapshot',
          ...(record.machineType ? { machineType: record.machineType } : {}),
          prepare: async (qmp) => {
            await loadInto(qmp, record, def.name);
            return { run: record.vmState === 'running' };
          },
        });
        mode = 'restarted';
      }
    } else {
      if (live) await lifecycle.forceOff(def);
      for (const disk of record.disks) await imageSnapshot('apply', disk.source, record.tag, ctx.env);
      await restoreNvram();
      const stored = await writeDefinition();
      if (request.start) await lifecycle.start(stored);
      mode = request.start ? 'restarted' : 'stopped';
    }
    await writeCurrentSnapshotId(ctx.home, def.id, record.id);
    return { snapshot: snapshotInfo(record, record.id), mode };
  });
}
