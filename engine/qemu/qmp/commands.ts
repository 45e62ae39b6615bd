/**
 * The QMP commands Virtdesk uses, as one typed table: name → arguments → result.
 * Shapes follow QEMU's QAPI schema (checked against `query-qmp-schema` of QEMU 7.2).
 * Only the fields we read are spelled out in results; QEMU may send more.
 */

/** A command that takes no arguments. */
export type NoArgs = Record<string, never>;
/** A command whose reply is `{}`. */
export type Empty = Record<string, never>;

export type QmpRunState =
  | 'debug'
  | 'inmigrate'
  | 'internal-error'
  | 'io-error'
  | 'paused'
  | 'postmigrate'
  | 'prelaunch'
  | 'finish-migrate'
  | 'restore-vm'
  | 'running'
  | 'save-vm'
  | 'shutdown'
  | 'suspended'
  | 'watchdog'
  | 'guest-panicked'
  | 'colo';

export interface QmpStatusInfo {
  running: boolean;
  singlestep?: boolean;
  status: QmpRunState;
}

export interface QmpVersionInfo {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

export interface QmpMachineInfo {
  name: string;
  alias?: string;
  'is-default'?: boolean;
  'cpu-max': number;
  'hotpluggable-cpus': boolean;
  'numa-mem-supported': boolean;
  deprecated: boolean;
  'default-cpu-type'?: string;
  'default-ram-id'?: string;
}

export interface QmpCpuDefinitionInfo {
  name: string;
  'migration-safe'?: boolean;
  static: boolean;
  /** Features the current accelerator cannot provide; empty means the model is usable as is. */
  'unavailable-features'?: string[];
  typename: string;
  'alias-of'?: string;
  deprecated: boolean;
}

export interface QmpObjectTypeInfo {
  name: string;
  abstract?: boolean;
  parent?: string;
}

export interface QmpCpuInfoFast {
  'cpu-index': number;
  'qom-path': string;
  'thread-id': number;
  props?: { 'node-id'?: number; 'socket-id'?: number; 'die-id'?: number; 'core-id'?: number; 'thread-id'?: number };
  target: string;
}

export interface QmpBlockDeviceInfo {
  file: string;
  'node-name'?: string;
  ro: boolean;
  drv: string;
  backing_file?: string;
  encrypted: boolean;
  image: { filename: string; format: string; 'virtual-size': number; 'actual-size'?: number };
  cache: { writeback: boolean; direct: boolean; 'no-flush': boolean };
}

export interface QmpBlockInfo {
  device: string;
  qdev?: string;
  type: string;
  removable: boolean;
  locked: boolean;
  inserted?: QmpBlockDeviceInfo;
  tray_open?: boolean;
  'io-status'?: 'ok' | 'failed' | 'nospace';
}

export interface QmpBlockDeviceStats {
  rd_bytes: number;
  wr_bytes: number;
  unmap_bytes: number;
  rd_operations: number;
  wr_operations: number;
  flush_operations: number;
  unmap_operations: number;
  rd_total_time_ns: number;
  wr_total_time_ns: number;
  flush_total_time_ns: number;
  failed_rd_operations: number;
  failed_wr_operations: number;
  wr_highest_offset: number;
}

export interface QmpBlockStats {
  device?: string;
  qdev?: string;
  'node-name'?: string;
  stats: QmpBlockDeviceStats;
  parent?: QmpBlockStats;
  backing?: QmpBlockStats;
}

export type QmpKeyValue = { type: 'qcode'; data: string } | { type: 'number'; data: number };

export type QmpJobType = 'commit' | 'stream' | 'mirror' | 'backup' | 'create' | 'amend' | 'snapshot-load' | 'snapshot-save' | 'snapshot-delete';
export type QmpJobStatus = 'undefined' | 'created' | 'running' | 'paused' | 'ready' | 'standby' | 'waiting' | 'pending' | 'aborting' | 'concluded' | 'null';

export interface QmpJobInfo {
  id: string;
  type: QmpJobType;
  status: QmpJobStatus;
  'current-progress': number;
  'total-progress': number;
  error?: string;
}

export type QmpMigrationStatus =
  | 'none'
  | 'setup'
  | 'cancelling'
  | 'cancelled'
  | 'active'
  | 'postcopy-active'
  | 'postcopy-paused'
  | 'postcopy-recover'
  | 'completed'
  | 'failed'
  | 'colo'
  | 'pre-switchover'
  | 'device'
  | 'wait-unplug';

export interface QmpMigrationInfo {
  status?: QmpMigrationStatus;
  ram?: { transferred: number; remaining: number; total: number; mbps: number };
  'total-time'?: number;
  'expected-downtime'?: number;
  downtime?: number;
  'error-desc'?: string;
}

export interface QmpMigrateSetParameters {
  'max-bandwidth'?: number;
  'downtime-limit'?: number;
  'multifd-channels'?: number;
  'xbzrle-cache-size'?: number;
  'compress-level'?: number;
  'compress-threads'?: number;
  'max-postcopy-bandwidth'?: number;
  'multifd-compression'?: 'none' | 'zlib' | 'zstd';
  [parameter: string]: unknown;
}

/** `-device` / `device_add` properties: the same JSON object engine/qemu/argv builds. */
export interface QmpDeviceProps {
  driver: string;
  id?: string;
  bus?: string;
  [property: string]: unknown;
}

/** `-blockdev` / `blockdev-add` options: the same JSON object engine/qemu/argv builds. */
export interface QmpBlockdevOptions {
  driver: string;
  'node-name'?: string;
  'read-only'?: boolean;
  discard?: 'ignore' | 'unmap';
  cache?: { direct?: boolean; 'no-flush'?: boolean };
  [option: string]: unknown;
}

/** `-netdev` / `netdev_add` options. */
export interface QmpNetdevOptions {
  id: string;
  type: string;
  [option: string]: unknown;
}

export interface QmpDeviceSelector {
  /** Legacy block backend name (drive id); give this or `id`. */
  device?: string;
  /** qdev id of the device. */
  id?: string;
}

export interface QmpVncInfo {
  enabled: boolean;
  host?: string;
  family?: string;
  service?: string;
  auth?: string;
  clients?: { host: string; service: string; family: string; websocket: boolean }[];
}

export interface QmpCommandTable {
  qmp_capabilities: { args: { enable?: string[] }; result: Empty };
  'query-commands': { args: NoArgs; result: { name: string }[] };
  'query-status': { args: NoArgs; result: QmpStatusInfo };
  cont: { args: NoArgs; result: Empty };
  stop: { args: NoArgs; result: Empty };
  system_powerdown: { args: NoArgs; result: Empty };
  system_reset: { args: NoArgs; result: Empty };
  system_wakeup: { args: NoArgs; result: Empty };
  quit: { args: NoArgs; result: Empty };
  screendump: { args: { filename: string; device?: string; head?: number; format?: 'ppm' | 'png' }; result: Empty };
  'send-key': { args: { keys: QmpKeyValue[]; 'hold-time'?: number }; result: Empty };
  'human-monitor-command': { args: { 'command-line': string; 'cpu-index'?: number }; result: string };
  'query-version': { args: NoArgs; result: QmpVersionInfo };
  'query-machines': { args: NoArgs; result: QmpMachineInfo[] };
  'query-cpu-definitions': { args: NoArgs; result: QmpCpuDefinitionInfo[] };
  'qom-list-types': { args: { implements?: string; abstract?: boolean }; result: QmpObjectTypeInfo[] };
  'qom-get': { args: { path: string; property: string }; result: unknown };
  'query-kvm': { args: NoArgs; result: { enabled: boolean; present: boolean } };
  'query-cpus-fast': { args: NoArgs; result: QmpCpuInfoFast[] };
  'query-block': { args: NoArgs; result: QmpBlockInfo[] };
  'query-blockstats': { args: { 'query-nodes'?: boolean }; result: QmpBlockStats[] };
  'query-balloon': { args: NoArgs; result: { actual: number } };
  balloon: { args: { value: number }; result: Empty };
  set_password: { args: { protocol: 'vnc' | 'spice'; password: string; connected?: 'keep' | 'fail' | 'disconnect'; display?: string }; result: Empty };
  expire_password: { args: { protocol: 'vnc' | 'spice'; time: string; display?: string }; result: Empty };
  'query-vnc': { args: NoArgs; result: QmpVncInfo };
  'query-chardev': { args: NoArgs; result: { label: string; filename: string; 'frontend-open': boolean }[] };
  device_add: { args: QmpDeviceProps; result: Empty };
  device_del: { args: { id: string }; result: Empty };
  'blockdev-add': { args: QmpBlockdevOptions; result: Empty };
  'blockdev-del': { args: { 'node-name': string }; result: Empty };
  'blockdev-change-medium': {
    args: QmpDeviceSelector & { filename: string; format?: string; force?: boolean; 'read-only-mode'?: 'retain' | 'read-only' | 'read-write' };
    result: Empty;
  };
  'blockdev-open-tray': { args: QmpDeviceSelector & { force?: boolean }; result: Empty };
  'blockdev-close-tray': { args: QmpDeviceSelector; result: Empty };
  'blockdev-remove-medium': { args: { id: string }; result: Empty };
  'blockdev-insert-medium': { args: { id: string; 'node-name': string }; result: Empty };
  eject: { args: QmpDeviceSelector & { force?: boolean }; result: Empty };
  netdev_add: { args: QmpNetdevOptions; result: Empty };
  netdev_del: { args: { id: string }; result: Empty };
  'query-name': { args: NoArgs; result: { name?: string } };
  'query-uuid': { args: NoArgs; result: { UUID: string } };
  'query-jobs': { args: NoArgs; result: QmpJobInfo[] };
  'job-cancel': { args: { id: string }; result: Empty };
  'job-dismiss': { args: { id: string }; result: Empty };
  'snapshot-save': { args: { 'job-id': string; tag: string; vmstate: string; devices: string[] }; result: Empty };
  'snapshot-load': { args: { 'job-id': string; tag: string; vmstate: string; devices: string[] }; result: Empty };
  'snapshot-delete': { args: { 'job-id': string; tag: string; devices: string[] }; result: Empty };
  migrate: { args: { uri: string; detach?: boolean; resume?: boolean }; result: Empty };
  migrate_cancel: { args: NoArgs; result: Empty };
  'query-migrate': { args: NoArgs; result: QmpMigrationInfo };
  'migrate-set-parameters': { args: QmpMigrateSetParameters; result: Empty };
  /** With `-incoming defer`: where the incoming migration stream comes from. */
  'migrate-incoming': { args: { uri: string }; result: Empty };
  /** Several actions at one instant: all are done or none (internal disk snapshots of every disk). */
  transaction: { args: { actions: QmpTransactionAction[] }; result: Empty };
  'blockdev-snapshot-internal-sync': { args: QmpInternalSnapshotRef; result: Empty };
  'blockdev-snapshot-delete-internal-sync': { args: QmpInternalSnapshotRef; result: QmpInternalSnapshotInfo };
  /** What QEMU does on guest events (QEMU ≥ 6.0); Virtdesk sets the shutdown action only. */
  'set-action': { args: { shutdown?: 'poweroff' | 'pause'; reboot?: 'reset' | 'shutdown'; panic?: 'pause' | 'shutdown' | 'none' }; result: Empty };
}

/** An internal (qcow2) snapshot `name` of block node `device`. */
export interface QmpInternalSnapshotRef {
  device: string;
  name: string;
}

export interface QmpInternalSnapshotInfo {
  id: string;
  name: string;
  'vm-state-size': number;
  'date-sec': number;
  'date-nsec': number;
  'vm-clock-sec': number;
  'vm-clock-nsec': number;
}

/** The transaction actions Virtdesk uses. */
export type QmpTransactionAction = { type: 'blockdev-snapshot-internal-sync'; data: QmpInternalSnapshotRef };

export type QmpCommandName = keyof QmpCommandTable;
export type QmpArgs<C extends QmpCommandName> = QmpCommandTable[C]['args'];
export type QmpResult<C extends QmpCommandName> = QmpCommandTable[C]['result'];

export interface ExecuteOptions {
  /** Per-command reply timeout; defaults to the client's `commandTimeoutMs`. */
  timeoutMs?: number;
}

/** Arguments after the command name: optional when the command needs none. */
export type ExecuteRest<C extends QmpCommandName> = NoArgs extends QmpArgs<C>
  ? [args?: QmpArgs<C>, options?: ExecuteOptions]
  : [args: QmpArgs<C>, options?: ExecuteOptions];
