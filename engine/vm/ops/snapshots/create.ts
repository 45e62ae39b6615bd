import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../../api/errors';
import { MAX_SNAPSHOT_DESCRIPTION_LENGTH } from '../../../api/snapshot-names';
import type { VmDefinition } from '../../../model';
import type { QmpClient } from '../../../qemu/qmp';
import { assertNotTemplate } from '../clone/template';
import { withCommandQmp } from '../../runtime/qmp-session';
import { vmDataDir, vmRuntimePaths, type VmRuntimePaths } from '../../runtime/paths';
import { readSavedState } from '../save-restore/saved-state';
import { probeVmStatus } from '../../runtime/probe';
import { imageSnapshot } from './image-snapshots';
import type { SnapshotContext } from './lifecycle';
import { copyNvramFiles } from './nvram';
import { removeTagFromImages } from './remove-tag';
import { attachedNodes, planSnapshotDisks } from './snapshot-disks';
import { snapshotInfo, type SnapshotInfo } from './snapshot-info';
import { runSnapshotJob } from './snapshot-jobs';
import { assertSnapshotName, snapshotTag } from './snapshot-names';
import {
  readCurrentSnapshotId,
  readSnapshotRecords,
  removeSnapshotFolder,
  snapshotFolder,
  THUMBNAIL_FILE,
  withSnapshotLock,
  writeCurrentSnapshotId,
  writeSnapshotRecord,
  type SnapshotKind,
} from './snapshot-store';

export interface CreateSnapshotRequest {
  name: string;
  description?: string;
  /** Default: with-memory for a running or paused VM, disk-only for a stopped one. */
  kind?: SnapshotKind;
  signal?: AbortSignal;
  /** 0–1 while QEMU saves the memory. */
  onProgress?: (fraction: number) => void;
}

export { MAX_SNAPSHOT_DESCRIPTION_LENGTH };

/** Fields vm-service records as waiting for a restart (the running QEMU does not have them yet). */
async function pendingRestart(paths: VmRuntimePaths): Promise<string[]> {
  try {
    const value = JSON.parse(await readFile(join(paths.runDir, 'pending-restart.json'), 'utf8')) as unknown;
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

async function takeThumbnail(qmp: QmpClient, def: VmDefinition, folder: string): Promise<boolean> {
  if (def.display.video === 'none') return false;
  try {
    await qmp.screendumpPng(join(folder, THUMBNAIL_FILE));
    return true;
  } catch {
    // A screen that cannot be captured (e.g. no console yet) is no reason to fail the snapshot.
    return false;
  }
}

/**
 * Takes a snapshot: internal qcow2 snapshots of every writable disk (QMP for a running VM,
 * qemu-img for a stopped one), with memory and device state for a running VM (QMP `snapshot-save`),
 * plus the definition, a screenshot and the UEFI variables at that moment.
 */
export async function createSnapshot(ctx: SnapshotContext, def: VmDefinition, request: CreateSnapshotRequest): Promise<SnapshotInfo> {
  assertSnapshotName(request.name);
  const description = request.description ?? '';
  if (description.length > MAX_SNAPSHOT_DESCRIPTION_LENGTH) {
    throw new EngineError('invalid-argument', `The snapshot description is ${description.length} characters long; at most ${MAX_SNAPSHOT_DESCRIPTION_LENGTH} are allowed.`, { field: 'description' });
  }
  await assertNotTemplate(ctx.home, def, 'snapshot');
  return withSnapshotLock(ctx.home, def.id, async () => {
    const { records } = await readSnapshotRecords(ctx.home, def.id);
    if (records.some((record) => record.name === request.name)) {
      throw new EngineError('already-exists', `VM "${def.name}" already has a snapshot named "${request.name}".`, {
        hint: `Choose another name, or delete the old one first with \`virtdesk snapshot delete ${def.name} "${request.name}"\`.`,
        field: 'name',
      });
    }
    if (await readSavedState(ctx.home, def.id)) {
      throw new EngineError('invalid-state', `Cannot snapshot VM "${def.name}": it has a saved state, which a snapshot would not include.`, {
        hint: `Start it (which restores the saved state) and take the snapshot then, or discard the state with \`virtdesk vm restore --discard ${def.name}\`.`,
      });
    }
    const paths = vmRuntimePaths(ctx.home, def.id, ctx.env);
    const status = await probeVmStatus(paths, def.name);
    if (status.state === 'starting' || status.state === 'shutting-down') {
      throw new EngineError('invalid-state', `Cannot snapshot VM "${def.name}" while it is ${status.state === 'starting' ? 'starting' : 'shutting down'}.`, { hint: 'Wait a moment and try again.' });
    }
    const live = status.pid !== undefined && (status.state === 'running' || status.state === 'paused');
    const kind: SnapshotKind = request.kind ?? (live ? 'with-memory' : 'disk-only');
    if (kind === 'with-memory' && !live) {
      throw new EngineError('invalid-state', `VM "${def.name}" is not running, so it has no memory to snapshot.`, { hint: 'Take a disk-only snapshot (leave out --memory).' });
    }
    const plan = planSnapshotDisks(def);
    if (plan.included.length === 0) {
      throw new EngineError('invalid-state', `VM "${def.name}" has no writable disk, so there is nothing to ${kind === 'with-memory' ? 'hold its memory and ' : ''}snapshot.`, {
        hint: 'Add a qcow2 disk to the VM.',
      });
    }
    if (kind === 'with-memory') {
      const pending = await pendingRestart(paths);
      if (pending.length > 0) {
        throw new EngineError('invalid-state', `VM "${def.name}" has changes waiting for a restart (${pending.join(', ')}), so its running hardware does not match its definition, and a memory snapshot of it could not be reverted to.`, {
          hint: 'Restart the VM first, or take a disk-only snapshot.',
        });
      }
    }

    const id = randomUUID();
    const tag = snapshotTag(id);
    const folder = snapshotFolder(ctx.home, def.id, id);
    await mkdir(folder, { recursive: true });
    let machineType: string | null = null;
    let thumbnail = false;
    const touched: typeof plan.included = [];
    try {
      if (live) {
        await withCommandQmp(
          paths,
          def.name,
          async (qmp) => {
            const nodes = await attachedNodes(qmp, plan.included, def.name);
            thumbnail = await takeThumbnail(qmp, def, folder);
            if (kind === 'with-memory') {
              machineType = await qmp.queryMachineType();
              touched.push(...plan.included);
              const outcome = await runSnapshotJob(qmp, 'snapshot-save', { tag, vmstate: nodes[0]!, devices: nodes }, {
                ...(request.signal ? { signal: request.signal } : {}),
                ...(request.onProgress ? { onProgress: request.onProgress } : {}),
              });
              // Also when the cancel came after QEMU finished: the caller was told it was cancelled.
              if (outcome.cancelRequested || request.signal?.aborted) throw new EngineError('cancelled', `Snapshot "${request.name}" of VM "${def.name}" was cancelled.`);
            } else {
              if (request.signal?.aborted) throw new EngineError('cancelled', `Snapshot "${request.name}" of VM "${def.name}" was cancelled.`);
              touched.push(...plan.included);
              await qmp.blockdevSnapshotInternalAll(nodes, tag);
            }
          },
          { commandTimeoutMs: 10 * 60_000 },
        );
      } else {
        for (const disk of plan.included) {
          if (request.signal?.aborted) throw new EngineError('cancelled', `Snapshot "${request.name}" of VM "${def.name}" was cancelled.`);
          touched.push(disk);
          await imageSnapshot('create', disk.source, tag, ctx.env);
        }
      }
      if (request.signal?.aborted) throw new EngineError('cancelled', `Snapshot "${request.name}" of VM "${def.name}" was cancelled.`);
      const nvram = def.firmware.type === 'uefi' ? (await copyNvramFiles(vmDataDir(ctx.home, def.id), folder))[0] ?? null : null;
      const currentId = await readCurrentSnapshotId(ctx.home, def.id);
      const record = {
        version: 1 as const,
        id,
        name: request.name,
        description,
        createdAt: new Date().toISOString(),
        parentId: records.some((other) => other.id === currentId) ? currentId : null,
        kind,
        vmState: live ? (status.state as 'running' | 'paused') : ('stopped' as const),
        tag,
        disks: plan.included.map((disk) => ({ id: disk.id, source: disk.source })),
        skipped: plan.skipped,
        vmstateDisk: kind === 'with-memory' ? plan.included[0]!.id : null,
        machineType,
        nvram,
        thumbnail,
        definition: def as unknown as Record<string, unknown>,
      };
      await writeSnapshotRecord(ctx.home, def.id, record);
      await writeCurrentSnapshotId(ctx.home, def.id, id);
      return snapshotInfo(record, id);
    } catch (error) {
      if (touched.length > 0) {
        const stillLive = (await probeVmStatus(paths, def.name).catch(() => undefined))?.pid !== undefined;
        await removeTagFromImages(touched, tag, stillLive ? { paths, vmName: def.name } : undefined, ctx.env).catch(() => undefined);
      }
      await removeSnapshotFolder(ctx.home, def.id, id);
      throw error;
    }
  });
}
