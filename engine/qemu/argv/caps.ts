import { EngineError } from '../../api/errors';
import type { QemuCaps, QemuProps } from './types';

/** What each device is for, in the words of the model, for the error a person sees. */
const PURPOSE: Readonly<Record<string, string>> = {
  'virtio-vga': 'the virtio-vga video model',
  VGA: 'the std video model',
  'qxl-vga': 'the qxl video model',
  'virtio-net-pci': 'the virtio NIC model',
  e1000e: 'the e1000e NIC model',
  rtl8139: 'the rtl8139 NIC model',
  'virtio-blk-pci': 'virtio disks',
  'virtio-scsi-pci': 'the scsi bus',
  'scsi-hd': 'scsi disks',
  'scsi-cd': 'scsi CD-ROMs',
  'ide-hd': 'sata/ide disks',
  'ide-cd': 'sata/ide CD-ROMs',
  'ich9-ahci': 'the sata bus on the pc machine',
  'qemu-xhci': 'the USB tablet',
  'usb-tablet': 'the USB tablet',
  'virtio-balloon-pci': 'the memory balloon',
  'virtio-rng-pci': 'the RNG device',
  'isa-serial': 'the serial console',
  'pcie-root-port': 'the q35 machine',
};

/** Refuses a device this QEMU binary lacks (house rule 5: gate on probed capabilities). */
export function assertDeviceAvailable(props: QemuProps, caps: QemuCaps): void {
  const driver = String(props.driver);
  if (caps.devices.has(driver)) return;
  const purpose = PURPOSE[driver];
  throw new EngineError('unavailable', `This QEMU has no "${driver}" device${purpose ? `, which ${purpose} needs` : ''}`, {
    hint: purpose
      ? `Change the VM so it does not use ${purpose}, or install a QEMU that has "${driver}" (Debian: qemu-system-x86).`
      : `Install a QEMU that has "${driver}" (Debian: qemu-system-x86).`,
    details: { driver },
  });
}

/** Checks every `-device` of a command line. */
export function assertArgvDevicesAvailable(argv: readonly string[], caps: QemuCaps): void {
  argv.forEach((arg, i) => {
    if (arg === '-device') assertDeviceAvailable(JSON.parse(argv[i + 1] ?? '{}') as QemuProps, caps);
  });
}
