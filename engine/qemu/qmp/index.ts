export { QmpClient, type QmpVmStatus, type SnapshotJobArgs } from './client';
export type { QmpConnectOptions } from './open-connection';
export { parseUsernetForwards, tapNamesFromInfoNetwork, type HostfwdRemoval, type UsernetForward } from './hmp';
export type * from './commands';
export type { QmpCloseListener, QmpEventListener, QmpGreeting } from './connection';
export { QmpClosedError, QmpCommandError, QmpProtocolError, QmpTimeoutError } from './errors';
export { MAPPED_QMP_EVENTS, mapQmpEvent, type BlockJobKind, type ShutdownCause, type VmDomainEvent, type VmDomainEventBody, type VmDomainEventOf, type VmDomainEventType, type VncPeer } from './events';
export { silentQmpLog, type QmpLog } from './log';
export { TYPED_QMP_COMMANDS } from './command-names';
