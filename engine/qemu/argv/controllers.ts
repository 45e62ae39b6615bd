import type { ArgvStep } from './context';
import { QEMU_IDS } from './ids';
import type { PciPlacement, RootPort } from './pci-layout';
import { json } from './qemu-option';
import type { QemuProps } from './types';

export function rootPortDevice(port: RootPort): QemuProps {
  return {
    driver: 'pcie-root-port',
    id: port.id,
    port: port.port,
    chassis: port.chassis,
    bus: port.placement.bus,
    addr: port.placement.addr,
    ...(port.multifunction ? { multifunction: true } : {}),
  };
}

export function scsiControllerDevice(placement: PciPlacement): QemuProps {
  return { driver: 'virtio-scsi-pci', id: QEMU_IDS.scsiController, bus: placement.bus, addr: placement.addr };
}

/** pc only: q35 has AHCI built in. */
export function sataControllerDevice(placement: PciPlacement): QemuProps {
  return { driver: 'ich9-ahci', id: QEMU_IDS.sataController, bus: placement.bus, addr: placement.addr };
}

/** xHCI with 15 USB2 and 15 USB3 ports, as libvirt's qemu-xhci default. */
export function usbControllerDevice(placement: PciPlacement): QemuProps {
  return { driver: 'qemu-xhci', id: QEMU_IDS.usbController, p2: 15, p3: 15, bus: placement.bus, addr: placement.addr };
}

/** Root ports first (devices sit behind them), then the controllers other devices plug into. */
export const controllersStep: ArgvStep = {
  name: 'controllers',
  build: ({ pci }) => {
    const devices: QemuProps[] = pci.rootPorts.map(rootPortDevice);
    const scsi = pci.devices.get(QEMU_IDS.scsiController);
    if (scsi) devices.push(scsiControllerDevice(scsi));
    const sata = pci.devices.get(QEMU_IDS.sataController);
    if (sata) devices.push(sataControllerDevice(sata));
    const usb = pci.devices.get(QEMU_IDS.usbController);
    if (usb) devices.push(usbControllerDevice(usb));
    return devices.flatMap((props) => ['-device', json(props)]);
  },
};
