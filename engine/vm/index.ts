/** The VM runtime: launch, watch, control and supervise QEMU processes. */
export { DEFAULT_STOP_TIMEOUT_MS, pauseVm, rebootVm, recordExit, resetVm, resumeVm, screenshotPng, screenshotVm, sendKeysVm, stopVm, type ControlContext, type StopOptions, type StopResult } from './control';
export { assertFilesUsable, filesOf } from './file-checks';
export { launchQemu, type LaunchRequest, type LaunchResult } from './launcher';
export { VmManager, type VmListEntry, type VmManagerEvent, type VmManagerOptions, type VmRuntimeInfo } from './manager';
export { findProcessesWithArg, findRunningQemu, isAlive, isOurQemu, readPidFile, waitForExit } from './pidfile';
export { clockTicksPerSecond, ProcessSampler, type ProcessStats } from './proc-stats';
export { withCommandQmp } from './qmp-session';
export { createVm, previewVm, volumeNameFor, type CreateVmOptions } from './create-vm';
export { VmRegistry, type DeleteOutcome } from './registry';
export { DEFAULT_RESTART_POLICY, RestartPolicy, type RestartPolicyOptions } from './restart-policy';
export { vmStateOfRunState } from './run-state';
export { clearAfterExit, clearRuntimeFiles, prepareRuntimeDir, vmDataDir, vmRuntimeDir, vmRuntimePaths, type VmRuntimePaths } from './runtime-dir';
export { readLastExit, readRuntimeRecord, type LastExit, type RuntimeRecord } from './runtime-records';
export { planStart, startVm, type StartContext, type StartPlan, type StartResult } from './start';
export { VmStatsCollector, type VmStatsSample } from './stats';
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
export { probeVmStatus, type VmStatus } from './status';
export { decideExitReason, VmSupervisor } from './supervisor';
export type { AttachRequest, HostToSupervisor, SupervisorToHost } from './supervisor-protocol';
export { classifyExit, connectToParent, forkWorkerFactory, WorkerEvents, type ParentPort, type VmWorker, type WorkerEntry, type WorkerExit, type WorkerFactory } from './worker';
export { openVmStore, vmStoreRoot, type VmStore } from './vm-store';
