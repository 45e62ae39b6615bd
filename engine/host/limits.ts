import type { HostLimits } from '../model/validate';
import { VM_DEFAULTS } from '../model/defaults';
import type { HostResources } from './memory';
import { resolveMachine, type QemuCapabilities } from './probe';

/**
 * What one VM may ask of this host. Memory: the host's total (guest RAM is allocated lazily, so
 * more than is free now can still run; more than exists cannot). vCPUs: QEMU's limit for the
 * machine type; more than the host's CPUs is overcommit, allowed as virt-manager allows it.
 */
export function hostLimits(resources: HostResources, qemu: Pick<QemuCapabilities, 'machines'>, machine: string = VM_DEFAULTS.machine): HostLimits {
  const machineMax = resolveMachine(qemu, machine)?.maxCpus ?? 255;
  return {
    maxMemoryMiB: Math.floor(resources.memory.totalBytes / (1024 * 1024)),
    maxVcpus: machineMax,
  };
}
