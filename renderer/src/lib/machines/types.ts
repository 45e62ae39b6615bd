import type { VmDetails } from '../../../../engine/api/vm-api';

/** The stored definition and its parts, as the contract carries them. */
export type VmDefinition = VmDetails['definition'];
export type Disk = VmDefinition['disks'][number];
export type Cdrom = VmDefinition['cdroms'][number];
export type Nic = VmDefinition['nics'][number];
export type NicNetwork = Nic['network'];
export type PortForward = Extract<NicNetwork, { kind: 'user' }>['portForwards'][number];
