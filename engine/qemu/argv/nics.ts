import { EngineError } from '../../api/errors';
import type { Nic, NicModel, UserNetwork } from '../../model/nic';
import type { ArgvStep } from './context';
import { netdevId } from './ids';
import type { PciPlacement } from './pci-layout';
import { compact, json } from './qemu-option';
import type { NicBackend, QemuProps } from './types';

export const NIC_DRIVERS: Readonly<Record<NicModel, string>> = {
  virtio: 'virtio-net-pci',
  e1000e: 'e1000e',
  rtl8139: 'rtl8139',
};

/** slirp's `hostfwd` rule: `tcp:127.0.0.1:8080-:80` (empty guest address = the first DHCP lease). */
export function hostForwardRule(forward: UserNetwork['portForwards'][number]): string {
  return `${forward.protocol}:${forward.hostAddress}:${forward.hostPort}-:${forward.guestPort}`;
}

/** How `hostfwd_remove` names a forward: the host socket only. */
export function hostForwardKey(forward: Pick<UserNetwork['portForwards'][number], 'protocol' | 'hostAddress' | 'hostPort'>): string {
  return `${forward.protocol}:${forward.hostAddress}:${forward.hostPort}`;
}

function userNetdev(id: string, network: UserNetwork): QemuProps {
  return compact({
    type: 'user',
    id,
    net: network.subnet,
    host: network.hostAddress,
    dns: network.dns,
    dhcpstart: network.dhcpStart,
    // In JSON, -netdev user takes hostfwd as a list of {str} (QAPI's String wrapper).
    hostfwd: network.portForwards.length > 0 ? network.portForwards.map((forward) => ({ str: hostForwardRule(forward) })) : undefined,
  });
}

/**
 * The host side of a NIC (also what hot-plug passes to netdev_add). User-mode NAT needs nothing
 * resolved; other kinds need `backend` from engine/network.
 */
export function nicNetdev(nic: Nic, backend?: NicBackend): QemuProps {
  const id = netdevId(nic.id);
  const network = nic.network;
  if (network.kind === 'user') return userNetdev(id, network);
  const wanted = network.kind === 'link' ? ['dgram-unix'] : ['bridge', 'tap'];
  if (backend === undefined || !wanted.includes(backend.type)) {
    const what = network.kind === 'link' ? `link "${network.name}"` : network.kind === 'bridge' ? `bridge "${network.name}"` : `network "${network.name}"`;
    throw new EngineError('unavailable', `NIC ${nic.id} is on ${what}, but ${backend === undefined ? 'nothing was set up for it' : `it was given a ${backend.type} backend`}`, {
      hint: network.kind === 'network' ? `Start the network "${network.name}" first.` : 'Check the NIC\'s network settings.',
    });
  }
  switch (backend.type) {
    case 'bridge':
      return { type: 'bridge', id, br: backend.bridge, helper: backend.helper };
    case 'tap':
      return { type: 'tap', id, ifname: backend.ifname, script: 'no', downscript: 'no' };
    case 'dgram-unix':
      return { type: 'dgram', id, local: { type: 'unix', path: backend.localPath }, remote: { type: 'unix', path: backend.remotePath } };
  }
}

/** The guest's network card (also what hot-plug passes to device_add). */
export function nicDevice(nic: Nic, placement: PciPlacement, options: { bootindex?: number } = {}): QemuProps {
  return compact({
    driver: NIC_DRIVERS[nic.model],
    id: nic.id,
    netdev: netdevId(nic.id),
    mac: nic.mac,
    bus: placement.bus,
    addr: placement.addr,
    bootindex: options.bootindex,
  });
}

export const nicsStep: ArgvStep = {
  name: 'nics',
  build: ({ def, input, pci, bootIndex }) =>
    def.nics.flatMap((nic) => {
      const placement = pci.devices.get(nic.id);
      if (placement === undefined) throw new EngineError('internal', `No PCI slot was planned for NIC ${nic.id}`);
      return ['-netdev', json(nicNetdev(nic, input.nicBackends?.[nic.id])), '-device', json(nicDevice(nic, placement, { bootindex: bootIndex.get(nic.id) }))];
    }),
};
