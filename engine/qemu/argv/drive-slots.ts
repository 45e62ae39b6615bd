import { EngineError } from '../../api/errors';
import type { VmDefinition } from '../../model/definition';
import { QEMU_IDS, SCSI_BUS } from './ids';

/** Where a SATA/IDE/SCSI disk or CD-ROM plugs in (virtio disks take a PCI slot instead). */
export type DriveSlot = { type: 'ide'; bus: string; unit?: number } | { type: 'scsi'; bus: string; scsiId: number; lun: number };

const AHCI_PORTS = 6;

/**
 * Disks first, then CD-ROMs, each in definition order. q35's built-in AHCI has buses ide.0..ide.5
 * (one device each); on pc, SATA goes to an added AHCI (`vd-sata.N`) and IDE to PIIX's ide.0/ide.1
 * (units 0 and 1). SCSI devices are targets 0, 1, … on the one virtio-scsi controller.
 */
export function planDriveSlots(def: VmDefinition): ReadonlyMap<string, DriveSlot> {
  const slots = new Map<string, DriveSlot>();
  const devices = [...def.disks.map((d) => ({ id: d.id, bus: d.bus })), ...def.cdroms.map((c) => ({ id: c.id, bus: c.bus }))];
  let sata = 0;
  let ide = 0;
  let scsi = 0;
  for (const device of devices) {
    if (device.bus === 'sata') {
      if (sata >= AHCI_PORTS) throw tooMany('SATA', AHCI_PORTS);
      const bus = def.machine === 'q35' ? `ide.${sata}` : `${QEMU_IDS.sataController}.${sata}`;
      slots.set(device.id, { type: 'ide', bus });
      sata++;
    } else if (device.bus === 'ide') {
      if (def.machine === 'q35') {
        throw new EngineError('invalid-argument', `The q35 machine has no IDE controller (device ${device.id})`, { hint: 'Use the sata bus, or the pc machine.' });
      }
      if (ide >= 4) throw tooMany('IDE', 4);
      slots.set(device.id, { type: 'ide', bus: `ide.${Math.floor(ide / 2)}`, unit: ide % 2 });
      ide++;
    } else if (device.bus === 'scsi') {
      slots.set(device.id, { type: 'scsi', bus: SCSI_BUS, scsiId: scsi, lun: 0 });
      scsi++;
    }
  }
  return slots;
}

function tooMany(kind: string, max: number): EngineError {
  return new EngineError('invalid-argument', `More than ${max} ${kind} disks and CD-ROMs`, { hint: 'Put some on virtio or scsi.' });
}
