import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { EngineError } from '../../../api/errors';
import { createVmDefinition, vmDefinitionSchema, vmNameProblem, type VmDefinition, type VmDefinitionInput } from '../../../model';
import { convertImage } from '../../../storage/qemu-img/convert';
import { createImage } from '../../../storage/qemu-img/create';
import { pathExists } from '../../../storage/qemu-img/output-file';
import { canonicalPath } from '../../../storage/usage';
import { withCommandQmp } from '../../runtime/qmp-session';
import type { VmRegistry } from '../../definitions/registry';
import { vmDataDir } from '../../runtime/paths';
import { readSavedState } from '../save-restore/saved-state';
import { copyNvramFiles } from '../snapshots/nvram';
import { removeTagFromImages } from '../snapshots/remove-tag';
import { attachedNodes } from '../snapshots/snapshot-disks';
import { removeCloneJournal, writeCloneJournal } from './clone-journal';
import { copyImageSnapshot } from './copy-image';
import { isTemplate } from './template';

export interface CloneOptions {
  /**
   * A qcow2 overlay on each of the source's disk images instead of a full copy: instant and small,
   * but the source must stay unchanged, so it must be a template.
   */
  linked?: boolean;
  signal?: AbortSignal;
  /** 0–1 over all disks. */
  onProgress?: (fraction: number) => void;
}

export interface CloneResult {
  definition: VmDefinition;
  /** Images created for the clone. */
  files: string[];
  /** Things to know although it worked (e.g. port forwards not copied). */
  warnings: string[];
}

interface PlannedDisk {
  id: string;
  source: string;
  format: 'qcow2' | 'raw';
  /** Undefined for a read-only disk, which the clone shares. */
  target: string | undefined;
}

/** `<folder of the source>/<clone name>[-<disk id>].<ext>`: beside the image it comes from. */
function targetPath(source: string, cloneName: string, diskId: string, index: number, format: string): string {
  const ext = format === 'qcow2' ? '.qcow2' : extname(source) || '.img';
  return join(dirname(source), `${cloneName}${index === 0 ? '' : `-${diskId}`}${ext}`);
}

/**
 * The clone's definition: the source's hardware with a new id, name and MAC addresses, disks
 * pointing at the new images, free link ends, no port forwards (a host port goes to one VM).
 */
function cloneInput(source: VmDefinition, name: string, disks: readonly PlannedDisk[], linked: boolean): { input: VmDefinitionInput; dropped: string[] } {
  // Known fields only: createVmDefinition refuses fields a newer Virtdesk may have added.
  const known = vmDefinitionSchema.parse(source);
  const dropped: string[] = [];
  const nics = known.nics.map((nic) => {
    const { mac: _mac, ...rest } = nic;
    if (nic.network.kind === 'user' && nic.network.portForwards.length > 0) {
      dropped.push(...nic.network.portForwards.map((forward) => `${forward.protocol} ${forward.hostAddress}:${forward.hostPort} → ${forward.guestPort} (${nic.id})`));
      return { ...rest, network: { ...nic.network, portForwards: [] } };
    }
    if (nic.network.kind === 'link') return { ...rest, network: { kind: 'link' as const, name: nic.network.name } };
    return rest;
  });
  const { id: _id, createdAt: _createdAt, schemaVersion: _version, ...hardware } = known;
  return {
    input: {
      ...hardware,
      name,
      autostart: false,
      nics,
      disks: known.disks.map((disk) => {
        const planned = disks.find((p) => p.id === disk.id)!;
        return planned.target === undefined ? disk : { ...disk, source: planned.target, format: linked ? 'qcow2' : disk.format };
      }),
    } as VmDefinitionInput,
    dropped,
  };
}

/**
 * Clones a VM: new name, UUID and MACs, its writable disks copied (full) or overlaid (linked, on
 * a template), read-only disks shared, UEFI variables copied. A running source is cloned through
 * a disk-only snapshot taken for the purpose (and removed after), so it keeps running; a linked
 * clone needs a template, which never runs. Nothing is left behind when a step fails.
 */
export async function cloneVm(registry: VmRegistry, sourceRef: string, name: string, options: CloneOptions = {}): Promise<CloneResult> {
  const { home, env } = registry;
  await registry.recoverInterruptedClones();
  const source = await registry.resolve(sourceRef);
  const nameProblem = vmNameProblem(name);
  if (nameProblem !== undefined) throw new EngineError('invalid-argument', `VM name "${name}" ${nameProblem}.`, { field: 'name' });
  const all = await registry.definitions();
  if (all.some((other) => other.name === name)) {
    throw new EngineError('already-exists', `Cannot clone "${source.name}" to "${name}": a VM named "${name}" already exists.`, { hint: 'Choose another name.', field: 'name' });
  }
  const status = await registry.status(source);
  if (status.state === 'starting' || status.state === 'shutting-down') {
    throw new EngineError('invalid-state', `Cannot clone VM "${source.name}" while it is ${status.state === 'starting' ? 'starting' : 'shutting down'}.`, { hint: 'Wait a moment and try again.' });
  }
  const live = status.pid !== undefined;
  const linked = options.linked === true;
  const warnings: string[] = [];
  if (linked && !(await isTemplate(home, source.id))) {
    throw new EngineError('invalid-state', `Cannot make a linked clone of "${source.name}": it is not a template. A linked clone reads the source's disk images, so they must never change again.`, {
      hint: `Make it a template first (\`virtdesk vm template ${source.name}\`; it then cannot be started), or make a full clone (leave out --linked).`,
    });
  }
  if (live) {
    const raw = source.disks.filter((disk) => !disk.readOnly && disk.format !== 'qcow2');
    if (raw.length > 0) {
      throw new EngineError('invalid-state', `Cannot clone the running VM "${source.name}": disk ${raw.map((d) => `${d.id} (${d.source})`).join(', ')} is raw, and a running VM is cloned through a snapshot, which raw images cannot hold.`, {
        hint: `Shut "${source.name}" down first, then clone it.`,
      });
    }
  }
  if (await readSavedState(home, source.id)) {
    warnings.push(`"${source.name}" has a saved state; the clone starts from its disks as they were when it was saved (like after a power cut), without its memory.`);
  }

  const writable = source.disks.filter((disk) => !disk.readOnly);
  const planned: PlannedDisk[] = source.disks.map((disk) => ({
    id: disk.id,
    source: disk.source,
    format: disk.format,
    target: disk.readOnly ? undefined : targetPath(disk.source, name, disk.id, writable.indexOf(disk), linked ? 'qcow2' : disk.format),
  }));
  for (const disk of planned) {
    if (disk.target !== undefined && (await pathExists(disk.target))) {
      throw new EngineError('already-exists', `Cannot clone "${source.name}" to "${name}": the image ${disk.target} already exists.`, {
        hint: `Choose another name, or move ${basename(disk.target)} away.`,
      });
    }
  }
  const { input, dropped } = cloneInput(source, name, planned, linked);
  if (dropped.length > 0) warnings.push(`Port forwards were not copied (a host port can be forwarded to one VM only): ${dropped.join(', ')}.`);
  // Validated (names, MACs, links, host limits) before any image is written.
  const definition = createVmDefinition({ ...input, id: randomUUID() }, { existing: all, host: await registry.hostLimits(source.machine) });

  const created: string[] = [];
  const tag = `vd-clone-${randomUUID()}`;
  const paths = registry.paths(source);
  const copies = planned.filter((disk): disk is PlannedDisk & { target: string } => disk.target !== undefined);
  let snapshotTaken = false;
  // Before the first image exists: a clone killed from here on is cleaned up by the next one (or a host start).
  await writeCloneJournal(home, definition.id, { name, files: copies.map((disk) => disk.target), ...(live && !linked && copies.length > 0 ? { tag: { tag, disks: copies } } : {}) });
  try {
    if (live && !linked && copies.length > 0) {
      await withCommandQmp(paths, source.name, async (qmp) => {
        const nodes = await attachedNodes(qmp, copies, source.name);
        await qmp.blockdevSnapshotInternalAll(nodes, tag);
        snapshotTaken = true;
      });
    }
    for (const [index, disk] of copies.entries()) {
      const progress = (percent: number) => options.onProgress?.((index + percent / 100) / copies.length);
      if (linked) {
        await createImage(disk.target, { format: 'qcow2', backingFile: await canonicalPath(disk.source), backingFormat: disk.format, ...(env ? { env } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      } else if (snapshotTaken) {
        await copyImageSnapshot(disk.source, tag, disk.target, { env, onProgress: progress, ...(options.signal ? { signal: options.signal } : {}) });
      } else {
        await convertImage(disk.source, disk.target, {
          sourceFormat: disk.format,
          targetFormat: disk.format,
          env,
          onProgress: (event) => progress(event.percent),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      }
      created.push(disk.target);
    }
    const stored = await registry.store.create(definition);
    try {
      await mkdir(vmDataDir(home, stored.id), { recursive: true });
      await copyNvramFiles(vmDataDir(home, source.id), vmDataDir(home, stored.id));
    } catch (error) {
      await registry.store.delete(stored.id).catch(() => undefined);
      throw error;
    }
    options.onProgress?.(1);
    return { definition: stored, files: created, warnings };
  } catch (error) {
    // Every target, also the one being written when it failed.
    await Promise.all(copies.map((disk) => rm(disk.target, { force: true })));
    throw error;
  } finally {
    await removeCloneJournal(home, definition.id).catch(() => undefined);
    if (snapshotTaken) {
      const stillLive = (await registry.status(source).catch(() => undefined))?.pid !== undefined;
      await removeTagFromImages(copies, tag, stillLive ? { paths, vmName: source.name } : undefined, env).catch(() => undefined);
    }
  }
}
