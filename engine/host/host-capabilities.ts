import { virtdeskHome } from '../paths';
import { decideAccelerator, type AccelDecision } from './accel';
import { loadQemuCapabilities } from './capabilities';
import { chooseCpuModel, type CpuModelChoice } from './cpu-model';
import { findQemu } from './find-qemu';
import { findUefiFirmware, type FirmwareChoice } from './firmware';
import { hostFacts, type HostFacts } from './host-facts';
import { readHostResources, type HostResources } from './memory';
import type { QemuCapabilities } from './probe';

/** Everything engine/qemu/argv and the Host page need to know about this host, in one object. */
export interface HostCapabilities {
  qemu: QemuCapabilities;
  /** What accelerator "auto" gives, and why. */
  accel: AccelDecision;
  /** The CPU model that starts under that accelerator (default model request). */
  cpuModel: CpuModelChoice;
  firmware: { uefi?: FirmwareChoice; uefiSecureBoot?: FirmwareChoice };
  resources: HostResources;
}

export interface CollectOptions {
  env?: NodeJS.ProcessEnv;
  home?: string;
  facts?: HostFacts;
  refresh?: boolean;
}

/** Probes (or reads from cache) the whole host picture. Throws when QEMU is missing. */
export async function collectHostCapabilities(options: CollectOptions = {}): Promise<HostCapabilities> {
  const env = options.env ?? process.env;
  const home = options.home ?? virtdeskHome(env);
  const facts = options.facts ?? hostFacts();
  const binary = await findQemu(env);
  const qemu = await loadQemuCapabilities({ binary, home, env, ...(options.refresh ? { refresh: true } : {}) });
  const accel = await decideAccelerator('auto', { facts, qemuAccelerators: qemu.accelerators });
  const cpuModel = await chooseCpuModel({ binary, accel: accel.accel, home, ...(options.refresh ? { refresh: true } : {}) });
  const firmware: HostCapabilities['firmware'] = {};
  const uefi = await findUefiFirmware({ machine: 'q35', secureBoot: false }, facts).catch(() => undefined);
  const uefiSecureBoot = await findUefiFirmware({ machine: 'q35', secureBoot: true }, facts).catch(() => undefined);
  if (uefi) firmware.uefi = uefi;
  if (uefiSecureBoot) firmware.uefiSecureBoot = uefiSecureBoot;
  return { qemu, accel, cpuModel, firmware, resources: await readHostResources(facts) };
}
