/**
 * Ids of everything the argv names. User device ids (disk0, net1, …) become QEMU device ids as
 * they are; everything Virtdesk adds itself starts with `vd-`, which user ids may not (see
 * engine/model/names.ts), so the two never collide. Hot-plug and QMP code use the same names.
 */
export const QEMU_IDS = {
  qmpChardev: 'vd-qmp',
  qmpCommandChardev: 'vd-qmp-cmd',
  serialChardev: 'vd-serial-char',
  serialDevice: 'vd-serial',
  video: 'vd-video',
  usbController: 'vd-usb',
  tablet: 'vd-tablet',
  sataController: 'vd-sata',
  scsiController: 'vd-scsi',
  balloon: 'vd-balloon',
  rng: 'vd-rng',
  rngBackend: 'vd-rng-src',
  pflashCode: 'vd-pflash0',
  pflashVars: 'vd-pflash1',
} as const;

/** q35: the n-th pcie-root-port. */
export function rootPortId(index: number): string {
  return `vd-rp${index}`;
}

/** Block node names of a disk or CD-ROM medium: the file (protocol) node and the format node on top. */
export function fileNodeName(deviceId: string): string {
  return `${deviceId}-file`;
}
export function formatNodeName(deviceId: string): string {
  return `${deviceId}-fmt`;
}

/** The -netdev id behind NIC `nicId`. */
export function netdevId(nicId: string): string {
  return `${nicId}-backend`;
}

/** The SCSI bus of the virtio-scsi controller. */
export const SCSI_BUS = `${QEMU_IDS.scsiController}.0`;
