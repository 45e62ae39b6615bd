import { hostname, loadavg } from 'node:os';
import type { ImplementationOf } from '../api/contract';
import type { ConsoleWindowResult, HostInfo, HostOverview } from '../api/host-api';
import type { VirtdeskContract } from '../api/virtdesk-api';
import { ENGINE_VERSION } from '../version';
import { runHostChecks } from './check';
import { collectHostCapabilities, type HostCapabilities } from './host-capabilities';
import { hostLimits } from './limits';
import { rootSessionWarning } from './root-warning';

export function hostInfo(hostKind: HostInfo['hostKind']): HostInfo {
  return { engineVersion: ENGINE_VERSION, hostname: hostname(), hostKind, rootWarning: rootSessionWarning(hostKind) };
}

export function hostOverview(caps: HostCapabilities): HostOverview {
  const { resources } = caps;
  const ksm = !resources.ksm.available ? 'not available' : resources.ksm.running ? `running, ${resources.ksm.pagesSharing} pages shared` : 'available, not running';
  const pageMiB = resources.hugepages.pageSizeBytes / (1024 * 1024);
  return {
    qemu: { binary: caps.qemu.binary, version: caps.qemu.version.text },
    accelerator: { accel: caps.accel.accel, reason: caps.accel.reason },
    kvm: { usable: caps.accel.kvm.usable, module: caps.accel.kvm.module ?? null, whyNot: caps.accel.kvm.whyNot ?? null },
    cpuModel: { model: caps.cpuModel.model, reason: caps.cpuModel.reason },
    firmware: { uefi: caps.firmware.uefi?.code ?? null, uefiSecureBoot: caps.firmware.uefiSecureBoot?.code ?? null },
    resources: {
      cpus: resources.cpus,
      memoryTotalBytes: resources.memory.totalBytes,
      memoryAvailableBytes: resources.memory.availableBytes,
      ksm,
      hugepages: `transparent: ${resources.hugepages.transparent}; ${resources.hugepages.total} reserved × ${pageMiB} MiB (${resources.hugepages.free} free)`,
      loadAverage: loadavg(),
    },
    limits: hostLimits(resources, caps.qemu),
  };
}

export interface HostServiceOptions {
  home: string;
  hostKind: HostInfo['hostKind'];
  /** Opens a VM's console window; hosts without windows (serve) leave it out and answer `opened: false`. */
  openConsoleWindow?: (vmId: string) => Promise<ConsoleWindowResult>;
}

/** The host service of the contract. Capabilities are probed once and cached per QEMU binary. */
export function createHostService(options: HostServiceOptions): ImplementationOf<VirtdeskContract>['host'] {
  return {
    info: () => hostInfo(options.hostKind),
    overview: async ({ refresh }) => hostOverview(await collectHostCapabilities({ home: options.home, refresh })),
    check: () => runHostChecks({ home: options.home }),
    openConsoleWindow: ({ id }) => options.openConsoleWindow?.(id) ?? { opened: false },
  };
}
