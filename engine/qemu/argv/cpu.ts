import { maxVcpus } from '../../model/cpu';
import type { ArgvStep } from './context';
import { optionList } from './qemu-option';

/** The resolved CPU model (probed by engine/host) and the topology; vCPUs beyond `cpus` are hot-pluggable. */
export const cpuStep: ArgvStep = {
  name: 'cpu',
  build: ({ def, input }) => [
    '-cpu',
    input.cpuModel,
    '-smp',
    optionList([
      ['cpus', def.cpu.vcpus],
      ['maxcpus', maxVcpus(def.cpu)],
      ['sockets', def.cpu.sockets],
      ['cores', def.cpu.cores],
      ['threads', def.cpu.threads],
    ]),
  ],
};
