export { QmpClient, type QmpConnectOptions, type QmpVmStatus } from './client';
export type * from './commands';
export type { QmpCloseListener, QmpEventListener, QmpGreeting } from './connection';
export { QmpClosedError, QmpCommandError, QmpProtocolError, QmpTimeoutError } from './errors';
export { MAPPED_QMP_EVENTS, mapQmpEvent, type BlockJobKind, type ShutdownCause, type VmDomainEvent, type VmDomainEventBody, type VmDomainEventOf, type VmDomainEventType, type VncPeer } from './events';
export { silentQmpLog, type QmpLog } from './log';
export { TYPED_QMP_COMMANDS } from './command-names';
