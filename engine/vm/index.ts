/** The VM runtime: launch, watch, control and supervise QEMU processes. */
export { REBOOT_TIMEOUT_MS, pauseVm, rebootVm, recordExit, resetVm, resumeVm, screenshotPng, screenshotVm, sendKeysVm, stopVm, type ControlContext, type StopOptions, type StopResult } from './ops/control';
export { assertFilesUsable, filesOf } from './runtime/file-checks';
export { launchQemu, type LaunchRequest, type LaunchResult } from './runtime/launcher';
export { VmManager, type VmListEntry, type VmManagerEvent, type VmManagerOptions, type VmRuntimeInfo } from './manager';
export { findProcessesWithArg, findRunningQemu, isAlive, isOurQemu, readPidFile, waitForExit } from './runtime/pidfile';
export { clockTicksPerSecond, ProcessSampler, type ProcessStats } from './stats/proc';
export { withCommandQmp } from './runtime/qmp-session';
export { createVm, previewVm, volumeNameFor, type CreateVmOptions } from './ops/create-vm';
export { VmRegistry, type DeleteOutcome } from './definitions/registry';
export { DEFAULT_RESTART_POLICY, RestartPolicy, type RestartPolicyOptions } from './supervision/restart-policy';
export { vmStateOfRunState } from './states';
export { clearAfterExit, clearRuntimeFiles, prepareRuntimeDir, vmDataDir, vmRuntimeDir, vmRuntimePaths, type VmRuntimePaths } from './runtime/paths';
export { readLastExit, readRuntimeRecord, type LastExit, type RuntimeRecord } from './runtime/records';
export { planStart, startVm, type StartContext, type StartPlan, type StartResult } from './ops/start';
export { VmStatsCollector, type VmStatsSample } from './stats/collector';
export {
  assertOperationAllowed,
  canTransition,
  describeExitReason,
  isOperationAllowed,
  stateAfterExit,
  VM_STATES,
  VmStateMachine,
  type ExitReason,
  type VmOperation,
  type VmState,
} from './states';
export { probeVmStatus, type VmStatus } from './runtime/probe';
export { decideExitReason, VmSupervisor } from './supervision/supervisor';
export type { AttachRequest, HostToSupervisor, SupervisorToHost } from './supervision/supervisor-protocol';
export { classifyExit, connectToParent, forkWorkerFactory, WorkerEvents, type ParentPort, type VmWorker, type WorkerEntry, type WorkerExit, type WorkerFactory } from './supervision/worker';
export { openVmStore, vmStoreRoot, type VmStore } from './definitions/store';
