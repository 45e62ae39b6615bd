import { EngineError } from '../../api/errors';
import type { Disk, DiskCacheMode } from '../../model/disk';
import type { ArgvContext, ArgvStep } from './context';
import type { DriveSlot } from './drive-slots';
import { fileNodeName, formatNodeName } from './ids';
import type { PciPlacement } from './pci-layout';
import { compact, json } from './qemu-option';
import type { QemuProps } from './types';

/**
 * libvirt's mapping of cache modes onto -blockdev: `direct` = O_DIRECT (bypass the host page
 * cache), `no-flush` = ignore guest flushes; the device's write-cache tells the guest whether it
 * must flush. none/directsync need a filesystem with O_DIRECT (not tmpfs).
 */
export const CACHE_MODES: Readonly<Record<DiskCacheMode, { direct: boolean; noFlush: boolean; writeCache: boolean }>> = {
  writeback: { direct: false, noFlush: false, writeCache: true },
  none: { direct: true, noFlush: false, writeCache: true },
  writethrough: { direct: false, noFlush: false, writeCache: false },
  directsync: { direct: true, noFlush: false, writeCache: false },
  unsafe: { direct: false, noFlush: true, writeCache: true },
};

/** The image file node and the format node on top of it (also what hot-plug passes to blockdev-add). */
export function diskBlockdevs(disk: Disk): [QemuProps, QemuProps] {
  const mode = CACHE_MODES[disk.cache];
  const common = { 'read-only': disk.readOnly, discard: disk.discard, cache: { direct: mode.direct, 'no-flush': mode.noFlush } };
  return [
    { driver: 'file', filename: disk.source, 'node-name': fileNodeName(disk.id), ...common },
    { driver: disk.format, file: fileNodeName(disk.id), 'node-name': formatNodeName(disk.id), ...common },
  ];
}

export type DiskPlacement = PciPlacement | DriveSlot;

/** The guest-visible disk (also what hot-plug passes to device_add). */
export function diskDevice(disk: Disk, placement: DiskPlacement, options: { bootindex?: number } = {}): QemuProps {
  const common = {
    id: disk.id,
    drive: formatNodeName(disk.id),
    bootindex: options.bootindex,
    serial: disk.serial,
    'write-cache': CACHE_MODES[disk.cache].writeCache ? 'on' : 'off',
  };
  if (disk.bus === 'virtio') {
    if ('type' in placement) throw new EngineError('internal', `virtio disk ${disk.id} needs a PCI placement`);
    return compact({ driver: 'virtio-blk-pci', bus: placement.bus, addr: placement.addr, ...common });
  }
  if (!('type' in placement)) throw new EngineError('internal', `${disk.bus} disk ${disk.id} needs a drive slot`);
  if (disk.readOnly && disk.bus !== 'scsi') {
    // ide-hd refuses it: "Block node is read-only".
    throw new EngineError('invalid-argument', `QEMU cannot attach a read-only disk on the ${disk.bus} bus (disk ${disk.id})`, {
      hint: 'Use the virtio or scsi bus for a read-only disk, or make it writable.',
    });
  }
  return compact({ driver: disk.bus === 'scsi' ? 'scsi-hd' : 'ide-hd', ...slotProps(placement), ...common });
}

/** The bus part of an IDE/SATA/SCSI device's props. */
export function slotProps(slot: DriveSlot): QemuProps {
  return slot.type === 'scsi' ? { bus: slot.bus, channel: 0, 'scsi-id': slot.scsiId, lun: slot.lun } : compact({ bus: slot.bus, unit: slot.unit });
}

export function diskPlacement(ctx: ArgvContext, disk: Disk): DiskPlacement {
  const placement = disk.bus === 'virtio' ? ctx.pci.devices.get(disk.id) : ctx.drives.get(disk.id);
  if (placement === undefined) throw new EngineError('internal', `No slot was planned for disk ${disk.id}`);
  return placement;
}

export const disksStep: ArgvStep = {
  name: 'disks',
  build: (ctx) =>
    ctx.def.disks.flatMap((disk) => [
      ...diskBlockdevs(disk).flatMap((props) => ['-blockdev', json(props)]),
      '-device',
      json(diskDevice(disk, diskPlacement(ctx, disk), { bootindex: ctx.bootIndex.get(disk.id) })),
    ]),
};
