import { EngineError } from '../../api/errors';
import type { VmDefinition } from '../../model/definition';
import { QEMU_IDS, rootPortId } from './ids';

export interface PciPlacement {
  bus: string;
  /** `slot` or `slot.function` in hex, as QEMU's `addr` property takes it. */
  addr: string;
}

export interface RootPort {
  id: string;
  chassis: number;
  port: number;
  placement: PciPlacement;
  /** Function 0 of a slot whose other functions hold more root ports. */
  multifunction: boolean;
}

export interface PciLayout {
  /** Where the primary VGA device goes (when there is one). */
  video: PciPlacement;
  /** Placement of every PCI device but video, by device id (user ids and `vd-` ids). */
  devices: ReadonlyMap<string, PciPlacement>;
  /** q35: every pcie-root-port, in argv order. Empty on pc. */
  rootPorts: readonly RootPort[];
  /** q35: ids of root ports left empty for hot-plug. */
  spareRootPorts: readonly string[];
}

/** virt-manager gives q35 guests 14 root ports; we keep at least this many, and always some spare. */
export const MIN_ROOT_PORTS = 14;
export const MIN_SPARE_ROOT_PORTS = 4;
/** pcie.0 slots 0x2..0x1e take root ports (0x1 is video, 0x1f the ICH9 LPC/AHCI/SMBus). */
const FIRST_PORT_SLOT = 0x2;
const LAST_SLOT = 0x1e;
/** pc: 0x0 host bridge, 0x1 PIIX3, 0x2 video; devices from 0x3 to 0x1f. */
const FIRST_PC_SLOT = 0x3;
const LAST_PC_SLOT = 0x1f;

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Ids of the devices that need a PCI slot, in slot order. NICs come first and disks keep their
 * relative order, so adding a device later does not rename a guest's NICs or reorder its disks.
 */
export function pciDeviceIds(def: VmDefinition): string[] {
  const buses = [...def.disks.map((d) => d.bus), ...def.cdroms.map((c) => c.bus)];
  return [
    ...def.nics.map((nic) => nic.id),
    ...def.disks.filter((disk) => disk.bus === 'virtio').map((disk) => disk.id),
    ...(buses.includes('scsi') ? [QEMU_IDS.scsiController] : []),
    // q35 has AHCI built in (ide.0..ide.5); pc needs an added controller.
    ...(def.machine === 'pc' && buses.includes('sata') ? [QEMU_IDS.sataController] : []),
    ...(def.display.usbTablet ? [QEMU_IDS.usbController] : []),
    ...(def.balloon ? [QEMU_IDS.balloon] : []),
    ...(def.rng ? [QEMU_IDS.rng] : []),
  ];
}

/**
 * q35 (as libvirt does it): video at pcie.0 slot 1, and every other device alone behind its own
 * pcie-root-port (8 ports per slot from slot 2), so each can be hot-unplugged and spare ports take
 * hot-plugged devices. pc: every device directly on pci.0, which hot-plugs through ACPI.
 */
export function planPci(def: VmDefinition): PciLayout {
  const ids = pciDeviceIds(def);
  if (def.machine === 'pc') {
    const slots = LAST_PC_SLOT - FIRST_PC_SLOT + 1;
    if (ids.length > slots) {
      throw new EngineError('invalid-argument', `The pc machine has ${slots} free PCI slots, but this VM needs ${ids.length}`, {
        hint: 'Remove some disks or NICs, put disks on scsi, or use the q35 machine.',
      });
    }
    return {
      video: { bus: 'pci.0', addr: hex(0x2) },
      devices: new Map(ids.map((id, i) => [id, { bus: 'pci.0', addr: hex(FIRST_PC_SLOT + i) }])),
      rootPorts: [],
      spareRootPorts: [],
    };
  }
  const count = Math.max(MIN_ROOT_PORTS, ids.length + MIN_SPARE_ROOT_PORTS);
  const maxPorts = (LAST_SLOT - FIRST_PORT_SLOT + 1) * 8;
  if (count > maxPorts) {
    throw new EngineError('invalid-argument', `This VM needs ${ids.length} PCI devices; q35 takes at most ${maxPorts - MIN_SPARE_ROOT_PORTS}`, {
      hint: 'Remove some disks or NICs, or put disks on the scsi bus (one controller holds many).',
    });
  }
  const rootPorts: RootPort[] = [];
  for (let i = 0; i < count; i++) {
    const slot = FIRST_PORT_SLOT + Math.floor(i / 8);
    const fn = i % 8;
    rootPorts.push({
      id: rootPortId(i),
      chassis: i + 1,
      port: 0x10 + i,
      placement: { bus: 'pcie.0', addr: fn === 0 ? hex(slot) : `${hex(slot)}.${hex(fn)}` },
      multifunction: fn === 0 && i + 1 < count,
    });
  }
  return {
    video: { bus: 'pcie.0', addr: hex(0x1) },
    devices: new Map(ids.map((id, i) => [id, { bus: rootPortId(i), addr: hex(0) }])),
    rootPorts,
    spareRootPorts: rootPorts.slice(ids.length).map((port) => port.id),
  };
}
