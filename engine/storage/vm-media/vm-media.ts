import { EngineError } from '../../api/errors';
import { nextDeviceId } from '../../model/names';
import type { Disk, DiskBus, DiskCacheMode } from '../../model/disk';
import type { Cdrom } from '../../model/cdrom';
import type { VmDefinition } from '../../model';
import { cdromMediaBlockdevs, diskBlockdevs, diskDevice, fileNodeName, formatNodeName, planPci, SCSI_BUS } from '../../qemu/argv';
import type { QemuProps } from '../../qemu/argv';
import type { QmpClient } from '../../qemu/qmp';
import type { QmpBlockdevOptions, QmpDeviceProps } from '../../qemu/qmp/commands';
import { QmpCommandError } from '../../qemu/qmp/errors';
import { assertNotTemplate } from '../../vm/ops/clone/template';
import { findRunningQemu } from '../../vm/runtime/pidfile';
import { withCommandQmp } from '../../vm/runtime/qmp-session';
import { vmRuntimePaths } from '../../vm/runtime/paths';
import { openVmStore } from '../../vm/definitions/store';
import { readIsoLabel } from '../iso/iso9660';
import { canonicalPath, describeUsers, type UsageResolver } from '../usage';
import { vmUsageResolver } from '../vm-usage';
import { probeImage } from '../volumes/format-check';

export interface VmMediaContext {
  home: string;
  env: NodeJS.ProcessEnv;
  /** Default: the VM definitions on disk (vmUsageResolver). */
  usage?: UsageResolver;
  /** How long the guest may take to release an unplugged disk. PCIe hot-unplug waits 5 s for the attention button. */
  unplugTimeoutMs?: number;
}

export interface MediaChangeResult {
  vm: string;
  deviceId: string;
  /** Applied to the running VM now. */
  live: boolean;
  /** The definition changed in a way the running VM only picks up when restarted. */
  restartNeeded: boolean;
  /** Why the change was not made live, when it was not. */
  note?: string;
}

async function isRunning(ctx: VmMediaContext, def: VmDefinition): Promise<boolean> {
  return (await findRunningQemu(vmRuntimePaths(ctx.home, def.id, ctx.env))) !== undefined;
}

function withQmp<T>(ctx: VmMediaContext, def: VmDefinition, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  return withCommandQmp(vmRuntimePaths(ctx.home, def.id, ctx.env), def.name, fn);
}

// The argv builders return generic props; QMP's typed table wants its own shapes. Same JSON either way.
function asBlockdev(props: QemuProps): QmpBlockdevOptions {
  if (typeof props.driver !== 'string') throw new EngineError('internal', 'blockdev props without a driver');
  return props as unknown as QmpBlockdevOptions;
}
function asDevice(props: QemuProps): QmpDeviceProps {
  if (typeof props.driver !== 'string' || typeof props.id !== 'string') throw new EngineError('internal', 'device props without a driver or id');
  return props as unknown as QmpDeviceProps;
}

async function quietly(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch {
    // Best-effort cleanup.
  }
}

export interface AttachDiskRequest {
  /** VM name or id. */
  vm: string;
  /** Absolute path of the image. */
  source: string;
  /** Checked against the file; default what the file is. */
  format?: 'qcow2' | 'raw';
  bus?: DiskBus;
  readOnly?: boolean;
  cache?: DiskCacheMode;
}

/** Hot-pluggable buses: virtio (own PCI(e) slot) and scsi (on the VM's virtio-scsi controller). */
function hotplugProblem(def: VmDefinition, bus: DiskBus): string | undefined {
  if (bus === 'sata' || bus === 'ide') return `${bus} disks cannot be hot-plugged`;
  if (bus === 'scsi' && !def.disks.some((d) => d.bus === 'scsi') && !def.cdroms.some((c) => c.bus === 'scsi')) {
    return 'the VM has no SCSI controller yet (it is added at the next start)';
  }
  return undefined;
}

async function plugDisk(qmp: QmpClient, def: VmDefinition, disk: Disk): Promise<void> {
  const [file, format] = diskBlockdevs(disk);
  await qmp.blockdevAdd(asBlockdev(file));
  try {
    await qmp.blockdevAdd(asBlockdev(format));
    try {
      if (disk.bus === 'scsi') {
        // Like the command line: one target per device, LUN 0. Targets freed by detaches are reused.
        for (let scsiId = 0; scsiId < 256; scsiId++) {
          try {
            await qmp.deviceAdd(asDevice(diskDevice(disk, { type: 'scsi', bus: SCSI_BUS, scsiId, lun: 0 })));
            return;
          } catch (error) {
            if (!(error instanceof QmpCommandError) || !/already used|in use|already exists/i.test(error.description)) throw error;
          }
        }
        throw new EngineError('resource-exhausted', `The SCSI controller of VM "${def.name}" has no free target left.`);
      }
      // q35: a free spare root port (one each); pc: QEMU picks a free slot on pci.0 (ACPI hot-plug).
      const buses = def.machine === 'pc' ? ['pci.0'] : planPci(def).spareRootPorts;
      let lastError: unknown;
      for (const bus of buses) {
        const props = { ...diskDevice(disk, { bus, addr: '0x0' }) };
        if (def.machine === 'pc') delete props.addr;
        try {
          await qmp.deviceAdd(asDevice(props));
          return;
        } catch (error) {
          lastError = error;
          // An occupied port (an earlier hot-plug) says so; try the next one.
          if (!(error instanceof QmpCommandError) || !/not available|in use|occupied|already|slot/i.test(error.description)) throw error;
        }
      }
      throw lastError ?? new EngineError('resource-exhausted', `VM "${def.name}" has no free PCI port left for another disk.`, { hint: 'Attach it while the VM is off.' });
    } catch (error) {
      await quietly(() => qmp.blockdevDel(formatNodeName(disk.id)));
      throw error;
    }
  } catch (error) {
    await quietly(() => qmp.blockdevDel(fileNodeName(disk.id)));
    throw error;
  }
}


/**
 * Adds a disk to a VM: live (blockdev-add + device_add, the same JSON the command line uses) when the
 * VM runs and the bus allows it, and always in the definition. Refuses an image another running VM
 * uses read-write, or any image a running VM uses when this attachment would write to it.
 */
export async function attachDisk(ctx: VmMediaContext, request: AttachDiskRequest): Promise<MediaChangeResult & { disk: Disk }> {
  const store = openVmStore(ctx.home);
  const def = await store.resolve(request.vm);
  await assertNotTemplate(ctx.home, def, 'edit');
  const source = await canonicalPath(request.source);
  const { info } = await probeImage(source, request.format, { env: ctx.env });
  if (info.format !== 'qcow2' && info.format !== 'raw') {
    throw new EngineError('invalid-argument', `"${source}" is a ${info.format} image; VMs use qcow2 or raw.`, { hint: 'Convert it first: `virtdesk image convert`.' });
  }
  for (const disk of def.disks) {
    if ((await canonicalPath(disk.source)) === source) throw new EngineError('already-exists', `"${source}" is already disk ${disk.id} of VM "${def.name}".`);
  }
  const readOnly = request.readOnly ?? false;
  const users = (await (ctx.usage ?? vmUsageResolver(ctx.home, ctx.env))(source)).filter((u) => u.vmId !== def.id && u.running);
  const clashing = users.filter((u) => !readOnly || !u.readOnly);
  if (clashing.length > 0) {
    throw new EngineError('conflict', `Cannot attach "${source}"${readOnly ? '' : ' read-write'}: it is in use by the running VM ${describeUsers(clashing)}.`, {
      hint: readOnly ? 'Shut that VM down first.' : 'Shut that VM down first, or attach a linked clone of the image instead.',
    });
  }
  const taken = new Set([...def.disks, ...def.cdroms, ...def.nics].map((d) => d.id));
  const disk: Disk = {
    id: nextDeviceId('disk', taken),
    source,
    format: info.format,
    bus: request.bus ?? 'virtio',
    cache: request.cache ?? 'writeback',
    readOnly,
    discard: 'unmap',
  };
  const running = await isRunning(ctx, def);
  const problem = running ? hotplugProblem(def, disk.bus) : undefined;
  if (running && !problem) await withQmp(ctx, def, (qmp) => plugDisk(qmp, def, disk));
  try {
    await store.update(def.id, (fresh) => ({ disks: [...fresh.disks, disk] }));
  } catch (error) {
    if (running && !problem) await quietly(() => detachLive(ctx, def, disk.id));
    throw error;
  }
  return {
    vm: def.name,
    deviceId: disk.id,
    disk,
    live: running && !problem,
    restartNeeded: running && problem !== undefined,
    ...(problem ? { note: `${problem}; the disk is in the definition and appears at the next start.` } : {}),
  };
}

async function detachLive(ctx: VmMediaContext, def: VmDefinition, deviceId: string): Promise<void> {
  await withQmp(ctx, def, async (qmp) => {
    const deleted = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new EngineError('timeout', `The guest in VM "${def.name}" did not release disk ${deviceId} within ${Math.round((ctx.unplugTimeoutMs ?? 30_000) / 1000)} s.`, {
          hint: 'The guest may not support hot-unplug, or still uses the disk (unmount it first). The disk stays attached.',
        }));
      }, ctx.unplugTimeoutMs ?? 30_000);
      const stop = qmp.onEvent((event) => {
        if (event.type === 'deviceDeleted' && event.deviceId === deviceId) {
          clearTimeout(timer);
          stop();
          resolve();
        }
      });
    });
    deleted.catch(() => undefined);
    await qmp.deviceDel(deviceId);
    await deleted;
    await qmp.blockdevDel(formatNodeName(deviceId));
    await qmp.blockdevDel(fileNodeName(deviceId));
  });
}

/** Removes a disk (by id or image path): device_del, wait for DEVICE_DELETED, blockdev-del; then from the definition. */
export async function detachDisk(ctx: VmMediaContext, request: { vm: string; disk: string }): Promise<MediaChangeResult> {
  const store = openVmStore(ctx.home);
  const def = await store.resolve(request.vm);
  await assertNotTemplate(ctx.home, def, 'edit');
  const wanted = request.disk.includes('/') ? await canonicalPath(request.disk) : undefined;
  let disk: Disk | undefined;
  for (const d of def.disks) if (d.id === request.disk || (wanted !== undefined && (await canonicalPath(d.source)) === wanted)) disk = d;
  if (!disk) {
    throw new EngineError('not-found', `VM "${def.name}" has no disk "${request.disk}".`, { hint: `Its disks: ${def.disks.map((d) => `${d.id} (${d.source})`).join(', ') || 'none'}.` });
  }
  const running = await isRunning(ctx, def);
  const problem = running ? hotplugProblem(def, disk.bus) : undefined;
  if (running && !problem) await detachLive(ctx, def, disk.id);
  const id = disk.id;
  await store.update(def.id, (fresh) => ({ disks: fresh.disks.filter((d) => d.id !== id) }));
  return {
    vm: def.name,
    deviceId: id,
    live: running && !problem,
    restartNeeded: running && problem !== undefined,
    ...(problem ? { note: `${problem}; the disk is gone from the definition and leaves the VM at its next start.` } : {}),
  };
}

async function swapMedium(qmp: QmpClient, cdrom: Cdrom, media: string | null): Promise<void> {
  await qmp.blockdevOpenTray(cdrom.id);
  await quietly(() => qmp.blockdevRemoveMedium(cdrom.id));
  await quietly(() => qmp.blockdevDel(formatNodeName(cdrom.id)));
  await quietly(() => qmp.blockdevDel(fileNodeName(cdrom.id)));
  if (media !== null) {
    const [file, format] = cdromMediaBlockdevs(cdrom.id, media);
    await qmp.blockdevAdd(asBlockdev(file));
    await qmp.blockdevAdd(asBlockdev(format));
    await qmp.blockdevInsertMedium(cdrom.id, formatNodeName(cdrom.id));
  }
  await qmp.blockdevCloseTray(cdrom.id);
}

/**
 * Inserts, changes (media = ISO path) or ejects (media = null) the medium of a CD-ROM drive, live
 * when the VM runs, and in the definition. The nodes are the same the command line builds.
 */
export async function changeCdromMedia(ctx: VmMediaContext, request: { vm: string; media: string | null; cdrom?: string }): Promise<MediaChangeResult> {
  const store = openVmStore(ctx.home);
  const def = await store.resolve(request.vm);
  await assertNotTemplate(ctx.home, def, 'edit');
  const cdrom = request.cdrom ? def.cdroms.find((c) => c.id === request.cdrom) : def.cdroms[0];
  if (!cdrom) {
    throw new EngineError('not-found', request.cdrom ? `VM "${def.name}" has no CD-ROM drive "${request.cdrom}".` : `VM "${def.name}" has no CD-ROM drive.`, {
      hint: 'Add a CD-ROM drive to the VM while it is off, then insert the ISO.',
    });
  }
  let media: string | null = null;
  if (request.media !== null) {
    media = await canonicalPath(request.media);
    await readIsoLabel(media);
  }
  if (await isRunning(ctx, def)) await withQmp(ctx, def, (qmp) => swapMedium(qmp, cdrom, media));
  const running = await isRunning(ctx, def);
  await store.update(def.id, (fresh) => ({ cdroms: fresh.cdroms.map((c) => (c.id === cdrom.id ? { ...c, media } : c)) }));
  return { vm: def.name, deviceId: cdrom.id, live: running, restartNeeded: false };
}

