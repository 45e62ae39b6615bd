import { EngineError } from '../../api/errors';
import type { Cdrom } from '../../model/cdrom';
import type { ArgvStep } from './context';
import type { DriveSlot } from './drive-slots';
import { slotProps } from './disks';
import { fileNodeName, formatNodeName } from './ids';
import { compact, json } from './qemu-option';
import type { QemuProps } from './types';

/** The nodes of a medium (an ISO, read-only raw); the runtime uses them for media changes too. */
export function cdromMediaBlockdevs(cdromId: string, media: string): [QemuProps, QemuProps] {
  return [
    { driver: 'file', filename: media, 'node-name': fileNodeName(cdromId), 'read-only': true },
    { driver: 'raw', file: fileNodeName(cdromId), 'node-name': formatNodeName(cdromId), 'read-only': true },
  ];
}

/** Nothing for an empty drive. */
export function cdromBlockdevs(cdrom: Cdrom): QemuProps[] {
  return cdrom.media === null ? [] : cdromMediaBlockdevs(cdrom.id, cdrom.media);
}

/** An empty drive has no `drive`; QEMU gives it an empty medium slot that can be filled later. */
export function cdromDevice(cdrom: Cdrom, slot: DriveSlot, options: { bootindex?: number } = {}): QemuProps {
  return compact({
    driver: slot.type === 'scsi' ? 'scsi-cd' : 'ide-cd',
    ...slotProps(slot),
    id: cdrom.id,
    drive: cdrom.media === null ? undefined : formatNodeName(cdrom.id),
    bootindex: options.bootindex,
  });
}

export const cdromsStep: ArgvStep = {
  name: 'cdroms',
  build: (ctx) =>
    ctx.def.cdroms.flatMap((cdrom) => {
      const slot = ctx.drives.get(cdrom.id);
      if (slot === undefined) throw new EngineError('internal', `No slot was planned for CD-ROM ${cdrom.id}`);
      return [...cdromBlockdevs(cdrom).flatMap((props) => ['-blockdev', json(props)]), '-device', json(cdromDevice(cdrom, slot, { bootindex: ctx.bootIndex.get(cdrom.id) }))];
    }),
};
