export { decideAccelerator, probeKvm, type AccelDecision, type AccelRequest, type KvmModule, type KvmStatus } from './accel';
export { withBriefQemu, qemuStderrSummary } from './brief-qemu';
export { loadQemuCapabilities, type LoadCapabilitiesOptions } from './capabilities';
export { formatHostCheck, runHostChecks, type HostCheckDeps, type HostCheckResult, type HostCheckStatus } from './check';
export {
  chooseCpuModel,
  cpuModelCandidates,
  tryCpuModel,
  KVM_CPU_FALLBACKS,
  TCG_CPU_FALLBACKS,
  type ChooseCpuModelOptions,
  type CpuModelAttempt,
  type CpuModelChoice,
} from './cpu-model';
export { findQemu, findQemuImg, QEMU_INSTALL_HINT } from './find-qemu';
export {
  findUefiFirmware,
  firmwareDescriptorDirs,
  parseFirmwareDescriptor,
  pickUefiFirmware,
  readFirmwareDescriptors,
  OVMF_INSTALL_HINT,
  type FirmwareChoice,
  type FirmwareDescriptor,
  type FirmwareRequest,
} from './firmware';
export { collectHostCapabilities, type CollectOptions, type HostCapabilities } from './host-capabilities';
export { cpuFlags, hostFacts, type HostFacts } from './host-facts';
export { readHostResources, type HostResources, type TransparentHugepages } from './memory';
export {
  hasCpuModel,
  hasDevice,
  parseAccelHelp,
  parseCapabilities,
  probeRaw,
  resolveMachine,
  type QemuAccelerator,
  type QemuCapabilities,
  type QemuCpuModel,
  type QemuMachineType,
  type RawProbe,
} from './probe';
