import type { VideoModel } from '../../model/display';
import type { ArgvStep } from './context';
import { QEMU_IDS } from './ids';
import type { PciPlacement } from './pci-layout';
import { json, optionValue } from './qemu-option';
import type { QemuProps } from './types';

export const VIDEO_DRIVERS: Readonly<Record<Exclude<VideoModel, 'none'>, string>> = {
  'virtio-vga': 'virtio-vga',
  std: 'VGA',
  qxl: 'qxl-vga',
};

export function videoDevice(video: Exclude<VideoModel, 'none'>, placement: PciPlacement): QemuProps {
  return { driver: VIDEO_DRIVERS[video], id: QEMU_IDS.video, bus: placement.bus, addr: placement.addr };
}

/**
 * `-display none` always: without it a QEMU lacking GTK/SDL falls back to a VNC server on TCP
 * localhost:5900. The screen is VNC on the unix socket only (never websocket=, which listens on
 * every interface without auth); password=on makes QMP set_password required.
 */
export const displayStep: ArgvStep = {
  name: 'display',
  build: ({ def, input, pci }) => {
    const args = ['-display', 'none'];
    if (def.display.vnc) {
      args.push('-vnc', `unix:${optionValue(input.paths.vncSocket)}${input.options?.vncPassword ? ',password=on' : ''}`);
    }
    if (def.display.video !== 'none') args.push('-device', json(videoDevice(def.display.video, pci.video)));
    return args;
  },
};
