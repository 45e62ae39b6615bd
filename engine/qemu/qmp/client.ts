import { migrationFromFileUri, migrationToFileUri } from '../argv/migration';
import type {
  ExecuteOptions,
  ExecuteRest,
  QmpBlockdevOptions,
  QmpBlockInfo,
  QmpBlockStats,
  QmpCommandName,
  QmpCpuDefinitionInfo,
  QmpCpuInfoFast,
  QmpDeviceProps,
  QmpJobInfo,
  QmpMachineInfo,
  QmpMigrationInfo,
  QmpObjectTypeInfo,
  QmpResult,
  QmpRunState,
  QmpVersionInfo,
} from './commands';
import type { QmpCloseListener, QmpConnection, QmpEventListener, QmpGreeting } from './connection';
import { openQmpConnection, type QmpConnectOptions } from './open-connection';
import { QmpClosedError } from './errors';
import { parseHostfwdRemove, parseUsernetForwards, tapNamesFromInfoNetwork, type HostfwdRemoval, type UsernetForward } from './hmp';
import type { JsonObject } from './transport';

/** A VM's run state as QMP `query-status` reports it. */
export interface QmpVmStatus {
  running: boolean;
  state: QmpRunState;
}

/** The arguments of QEMU's snapshot jobs (`snapshot-save`, `-load`, `-delete`), without the job id. */
export interface SnapshotJobArgs {
  tag: string;
  /** The node that holds the VM state (save and load only). */
  vmstate?: string;
  devices: string[];
}

/**
 * A QMP client for one QEMU process: a closed monitor. Every command Virtdesk sends has a named,
 * typed method here; `execute` (typed by the command table in ./commands) stays private, so no
 * QMP or HMP string leaves engine/qemu/qmp (DESIGN.md rule 6; lint keeps `.execute(` here).
 */
export class QmpClient {
  private constructor(
    private readonly connection: QmpConnection,
    readonly socketPath: string,
  ) {}

  static async connect(socketPath: string, options: QmpConnectOptions): Promise<QmpClient> {
    return new QmpClient(await openQmpConnection(socketPath, options), socketPath);
  }

  /** QEMU's version and capabilities from the greeting. */
  get greeting(): QmpGreeting {
    return this.connection.greeting;
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  /** Runs one QMP command; rejects with QmpCommandError, QmpTimeoutError or QmpClosedError. */
  private execute<C extends QmpCommandName>(command: C, ...rest: ExecuteRest<C>): Promise<QmpResult<C>> {
    const [args, options] = rest;
    return this.connection.send(command, args as JsonObject | undefined, options?.timeoutMs) as Promise<QmpResult<C>>;
  }

  /** Domain events (already mapped from QMP) as they arrive. Returns an unsubscribe function. */
  onEvent(listener: QmpEventListener): () => void {
    return this.connection.onEvent(listener);
  }

  onClose(listener: QmpCloseListener): () => void {
    return this.connection.onClose(listener);
  }

  /** Resolves when the connection has closed (QEMU exited, or `close()`). */
  whenClosed(): Promise<void> {
    return this.connection.whenClosed();
  }

  /** Closes our side; pending commands are rejected. QEMU keeps running. */
  close(): Promise<void> {
    return this.connection.close();
  }

  // ---- run state ----

  async queryStatus(): Promise<QmpVmStatus> {
    const status = await this.execute('query-status');
    return { running: status.running, state: status.status };
  }

  async cont(): Promise<void> {
    await this.execute('cont');
  }

  async stop(): Promise<void> {
    await this.execute('stop');
  }

  /** Presses the ACPI power button. */
  async systemPowerdown(): Promise<void> {
    await this.execute('system_powerdown');
  }

  async systemReset(): Promise<void> {
    await this.execute('system_reset');
  }

  /** Asks QEMU to exit and waits for the connection to close. A close before the reply is success. */
  async quit(timeoutMs = 10_000): Promise<void> {
    try {
      await this.execute('quit', {}, { timeoutMs });
    } catch (error) {
      if (!(error instanceof QmpClosedError)) throw error;
    }
    await Promise.race([this.whenClosed(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  /** Writes the primary display to `path` as PNG. */
  async screendumpPng(path: string, options: { device?: string; head?: number } = {}): Promise<void> {
    await this.execute('screendump', { filename: path, format: 'png', ...options });
  }

  /** Presses keys together, by QEMU qcode (e.g. `['ctrl', 'alt', 'delete']`). */
  async sendKeys(qcodes: readonly string[], holdTimeMs?: number): Promise<void> {
    const args: { keys: { type: 'qcode'; data: string }[]; 'hold-time'?: number } = { keys: qcodes.map((data) => ({ type: 'qcode', data })) };
    if (holdTimeMs !== undefined) args['hold-time'] = holdTimeMs;
    await this.execute('send-key', args);
  }

  /** What QEMU does when the guest powers off (QEMU ≥ 6.0). */
  async setShutdownAction(action: 'poweroff' | 'pause'): Promise<void> {
    await this.execute('set-action', { shutdown: action });
  }

  // ---- what this QEMU is ----

  queryVersion(): Promise<QmpVersionInfo> {
    return this.execute('query-version');
  }

  queryMachines(): Promise<QmpMachineInfo[]> {
    return this.execute('query-machines');
  }

  queryCpuDefinitions(): Promise<QmpCpuDefinitionInfo[]> {
    return this.execute('query-cpu-definitions');
  }

  /** QOM type names, optionally only those implementing `implementsType` (e.g. `device`). */
  async listTypes(implementsType?: string, includeAbstract = false): Promise<QmpObjectTypeInfo[]> {
    const args: { implements?: string; abstract?: boolean } = { abstract: includeAbstract };
    if (implementsType !== undefined) args.implements = implementsType;
    return this.execute('qom-list-types', args);
  }

  /** Names of the QMP commands this binary offers. */
  async queryCommands(): Promise<string[]> {
    return (await this.execute('query-commands')).map((command) => command.name);
  }

  /** The exact machine type QEMU runs (`pc-q35-7.2`), not the alias it was started with. */
  async queryMachineType(): Promise<string> {
    const type = await this.execute('qom-get', { path: '/machine', property: 'type' });
    if (typeof type !== 'string') throw new Error(`qom-get /machine type returned ${JSON.stringify(type)}`);
    return type.replace(/-machine$/, '');
  }

  queryKvm(): Promise<{ enabled: boolean; present: boolean }> {
    return this.execute('query-kvm');
  }

  queryCpusFast(): Promise<QmpCpuInfoFast[]> {
    return this.execute('query-cpus-fast');
  }

  // ---- block devices and media ----

  queryBlock(): Promise<QmpBlockInfo[]> {
    return this.execute('query-block');
  }

  queryBlockStats(): Promise<QmpBlockStats[]> {
    return this.execute('query-blockstats', {});
  }

  async blockdevAdd(options: QmpBlockdevOptions): Promise<void> {
    await this.execute('blockdev-add', options);
  }

  async blockdevDel(nodeName: string): Promise<void> {
    await this.execute('blockdev-del', { 'node-name': nodeName });
  }

  /** Opens a CD drive's tray; `force` even when the guest has locked it. */
  async blockdevOpenTray(deviceId: string, force = true): Promise<void> {
    await this.execute('blockdev-open-tray', { id: deviceId, force });
  }

  async blockdevCloseTray(deviceId: string): Promise<void> {
    await this.execute('blockdev-close-tray', { id: deviceId });
  }

  async blockdevRemoveMedium(deviceId: string): Promise<void> {
    await this.execute('blockdev-remove-medium', { id: deviceId });
  }

  async blockdevInsertMedium(deviceId: string, nodeName: string): Promise<void> {
    await this.execute('blockdev-insert-medium', { id: deviceId, 'node-name': nodeName });
  }

  // ---- snapshots and jobs ----

  /** Takes an internal disk-only snapshot `tag` of every node at the same instant (one transaction). */
  async blockdevSnapshotInternalAll(nodes: readonly string[], tag: string): Promise<void> {
    await this.execute('transaction', { actions: nodes.map((device) => ({ type: 'blockdev-snapshot-internal-sync' as const, data: { device, name: tag } })) });
  }

  async blockdevSnapshotDeleteInternal(node: string, tag: string): Promise<void> {
    await this.execute('blockdev-snapshot-delete-internal-sync', { device: node, name: tag });
  }

  /** Starts `snapshot-save` as job `jobId`; follow it with `queryJobs`. */
  async snapshotSave(jobId: string, args: SnapshotJobArgs & { vmstate: string }): Promise<void> {
    await this.execute('snapshot-save', { 'job-id': jobId, ...args });
  }

  async snapshotLoad(jobId: string, args: SnapshotJobArgs & { vmstate: string }): Promise<void> {
    await this.execute('snapshot-load', { 'job-id': jobId, ...args });
  }

  async snapshotDelete(jobId: string, args: SnapshotJobArgs): Promise<void> {
    await this.execute('snapshot-delete', { 'job-id': jobId, tag: args.tag, devices: args.devices });
  }

  queryJobs(options?: ExecuteOptions): Promise<QmpJobInfo[]> {
    return this.execute('query-jobs', {}, options);
  }

  async jobCancel(jobId: string): Promise<void> {
    await this.execute('job-cancel', { id: jobId });
  }

  async jobDismiss(jobId: string): Promise<void> {
    await this.execute('job-dismiss', { id: jobId });
  }

  // ---- saving and restoring the whole state ----

  /** Streams the VM's state into `path` (the guest should be paused); follow it with `queryMigrate`. */
  async migrateToFile(path: string): Promise<void> {
    await this.execute('migrate', { uri: migrationToFileUri(path) });
  }

  /** Tells a QEMU started with `-incoming defer` to load its state from `path`. */
  async migrateIncomingFromFile(path: string): Promise<void> {
    await this.execute('migrate-incoming', { uri: migrationFromFileUri(path) });
  }

  /** Lifts QEMU's default migration bandwidth cap (32 MiB/s), which a save to a local file does not need. */
  async migrateSetMaxBandwidth(bytesPerSecond: number): Promise<void> {
    await this.execute('migrate-set-parameters', { 'max-bandwidth': bytesPerSecond });
  }

  queryMigrate(): Promise<QmpMigrationInfo> {
    return this.execute('query-migrate');
  }

  async migrateCancel(): Promise<void> {
    await this.execute('migrate_cancel');
  }

  // ---- memory ----

  /** Current balloon size in bytes. */
  async queryBalloonBytes(): Promise<number> {
    return (await this.execute('query-balloon')).actual;
  }

  async setBalloonBytes(bytes: number): Promise<void> {
    await this.execute('balloon', { value: bytes });
  }

  // ---- display ----

  async setVncPassword(password: string): Promise<void> {
    await this.execute('set_password', { protocol: 'vnc', password });
  }

  /** `time`: `now`, `never`, `+SECONDS` or an absolute UNIX time, as QEMU takes it. */
  async expireVncPassword(time: string): Promise<void> {
    await this.execute('expire_password', { protocol: 'vnc', time });
  }

  // ---- devices and NICs ----

  async deviceAdd(props: QmpDeviceProps): Promise<void> {
    await this.execute('device_add', props);
  }

  /** Requests unplug; completion is the `deviceDeleted` event. */
  async deviceDel(id: string): Promise<void> {
    await this.execute('device_del', { id });
  }

  /** Host tap interfaces of the VM's NICs (HMP `info network`). */
  async tapNames(): Promise<string[]> {
    return tapNamesFromInfoNetwork(await this.humanMonitorCommand('info network'));
  }

  /** The forwards slirp has active, on every user-mode netdev (HMP `info usernet`). */
  async usernetForwards(): Promise<UsernetForward[]> {
    return parseUsernetForwards(await this.humanMonitorCommand('info usernet'));
  }

  /**
   * Adds a slirp forward (`rule` as engine/qemu/argv's hostForwardRule builds it) to `netdev`.
   * HMP reports failure as text, not as a QMP error: returns QEMU's complaint, '' when done.
   */
  async hostfwdAdd(netdev: string, rule: string): Promise<string> {
    return (await this.humanMonitorCommand(`hostfwd_add ${netdev} ${rule}`)).trim();
  }

  /** Removes a slirp forward named by its host socket (`hostForwardKey`). */
  async hostfwdRemove(netdev: string, key: string): Promise<HostfwdRemoval> {
    return parseHostfwdRemove(await this.humanMonitorCommand(`hostfwd_remove ${netdev} ${key}`));
  }

  private humanMonitorCommand(commandLine: string): Promise<string> {
    return this.execute('human-monitor-command', { 'command-line': commandLine });
  }

  // ---- identity ----

  async queryName(): Promise<string | undefined> {
    return (await this.execute('query-name')).name;
  }

  async queryUuid(): Promise<string> {
    return (await this.execute('query-uuid')).UUID;
  }
}
