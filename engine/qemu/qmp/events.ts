import type { QmpLog } from './log';
import type { JsonObject } from './transport';

/**
 * The one table from QMP events to Virtdesk domain events. Nothing outside engine/qemu/qmp
 * sees a QMP event name or field: they get `VmDomainEvent`, camelCase, with a `type` tag.
 */

export type ShutdownCause =
  | 'none'
  | 'host-error'
  | 'host-qmp-quit'
  | 'host-qmp-system-reset'
  | 'host-signal'
  | 'host-ui'
  | 'guest-shutdown'
  | 'guest-reset'
  | 'guest-panic'
  | 'subsystem-reset'
  | 'snapshot-load'
  | 'unknown';

export type BlockJobKind = 'commit' | 'stream' | 'mirror' | 'backup' | 'create' | 'amend' | 'snapshot-load' | 'snapshot-save' | 'snapshot-delete';

export interface VncPeer {
  host: string;
  service: string;
  family: 'ipv4' | 'ipv6' | 'unix' | 'vsock' | 'unknown';
}

interface Base {
  /** When QEMU emitted it, ms since the epoch (our clock if QEMU gave none). */
  at: number;
}

export type VmDomainEvent = Base &
  (
    | { type: 'shutdown'; byGuest: boolean; cause: ShutdownCause }
    | { type: 'powerdownRequested' }
    | { type: 'reset'; byGuest: boolean; cause: ShutdownCause }
    | { type: 'paused' }
    | { type: 'resumed' }
    | { type: 'suspended'; toDisk: boolean }
    | { type: 'woke' }
    | { type: 'watchdogFired'; action: string }
    | { type: 'guestPanicked'; action: 'pause' | 'poweroff' | 'run'; info?: Record<string, unknown> }
    | { type: 'guestCrashLoaded'; action: 'pause' | 'poweroff' | 'run' }
    | { type: 'deviceDeleted'; deviceId?: string; qomPath: string }
    | { type: 'deviceUnplugGuestError'; deviceId?: string; qomPath: string }
    | { type: 'trayMoved'; blockDevice: string; deviceId: string; trayOpen: boolean }
    | { type: 'blockIoError'; blockDevice: string; nodeName?: string; operation: 'read' | 'write'; action: 'ignore' | 'report' | 'stop'; noSpace: boolean; reason: string }
    | { type: 'blockJobCompleted'; job: BlockJobKind; blockDevice: string; length: number; offset: number; speed: number; error?: string }
    | { type: 'blockJobCancelled'; job: BlockJobKind; blockDevice: string; length: number; offset: number; speed: number }
    | { type: 'blockJobReady'; job: BlockJobKind; blockDevice: string; length: number; offset: number; speed: number }
    | { type: 'blockJobError'; blockDevice: string; operation: 'read' | 'write'; action: 'ignore' | 'report' | 'stop' }
    | { type: 'blockJobPending'; job: BlockJobKind; jobId: string }
    | { type: 'jobStatusChanged'; jobId: string; status: string }
    | { type: 'balloonChanged'; actualBytes: number }
    | { type: 'nicRxFilterChanged'; nicName?: string; qomPath: string }
    | { type: 'rtcChanged'; offsetSeconds: number }
    | { type: 'serialPortChanged'; portId: string; open: boolean }
    | { type: 'vncConnected'; server: VncPeer; client: VncPeer }
    | { type: 'vncInitialized'; server: VncPeer; client: VncPeer }
    | { type: 'vncDisconnected'; server: VncPeer; client: VncPeer }
    | { type: 'migrationStatus'; status: string }
    | { type: 'migrationPass'; pass: number }
  );

export type VmDomainEventType = VmDomainEvent['type'];
export type VmDomainEventOf<T extends VmDomainEventType> = Extract<VmDomainEvent, { type: T }>;

/** A domain event without its timestamp (what the table builds). */
export type VmDomainEventBody = { [K in VmDomainEvent as K['type']]: Omit<K, 'at'> }[VmDomainEventType];

/** Thrown by the field readers when QEMU sent an event without a field the table needs. */
class MissingField extends Error {}

/** Typed reads of an event's `data`, failing loudly on a missing or mistyped required field. */
class Fields {
  constructor(private readonly data: JsonObject) {}
  str(key: string): string {
    const value = this.data[key];
    if (typeof value !== 'string') throw new MissingField(key);
    return value;
  }
  optStr(key: string): string | undefined {
    const value = this.data[key];
    return typeof value === 'string' ? value : undefined;
  }
  num(key: string): number {
    const value = this.data[key];
    if (typeof value !== 'number') throw new MissingField(key);
    return value;
  }
  bool(key: string): boolean {
    const value = this.data[key];
    if (typeof value !== 'boolean') throw new MissingField(key);
    return value;
  }
  optBool(key: string): boolean | undefined {
    const value = this.data[key];
    return typeof value === 'boolean' ? value : undefined;
  }
  obj(key: string): Fields {
    const value = this.data[key];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MissingField(key);
    return new Fields(value as JsonObject);
  }
  optObj(key: string): JsonObject | undefined {
    const value = this.data[key];
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  }
  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const value = this.str(key);
    if (!(allowed as readonly string[]).includes(value)) throw new MissingField(`${key} (unexpected value "${value}")`);
    return value as T;
  }
}

const SHUTDOWN_CAUSES: readonly ShutdownCause[] = [
  'none',
  'host-error',
  'host-qmp-quit',
  'host-qmp-system-reset',
  'host-signal',
  'host-ui',
  'guest-shutdown',
  'guest-reset',
  'guest-panic',
  'subsystem-reset',
  'snapshot-load',
];
const JOB_KINDS: readonly BlockJobKind[] = ['commit', 'stream', 'mirror', 'backup', 'create', 'amend', 'snapshot-load', 'snapshot-save', 'snapshot-delete'];
const IO_OPERATIONS = ['read', 'write'] as const;
const IO_ACTIONS = ['ignore', 'report', 'stop'] as const;
const PANIC_ACTIONS = ['pause', 'poweroff', 'run'] as const;
const VNC_FAMILIES: readonly VncPeer['family'][] = ['ipv4', 'ipv6', 'unix', 'vsock', 'unknown'];

function cause(f: Fields): ShutdownCause {
  const value = f.str('reason');
  // A cause newer than this table is still a shutdown; keep the event, lose only the detail.
  return (SHUTDOWN_CAUSES as readonly string[]).includes(value) ? (value as ShutdownCause) : 'unknown';
}

function vncPeer(f: Fields): VncPeer {
  const family = f.str('family');
  return {
    host: f.str('host'),
    service: f.str('service'),
    family: (VNC_FAMILIES as readonly string[]).includes(family) ? (family as VncPeer['family']) : 'unknown',
  };
}

function blockJobProgress(f: Fields) {
  return { job: f.oneOf('type', JOB_KINDS), blockDevice: f.str('device'), length: f.num('len'), offset: f.num('offset'), speed: f.num('speed') };
}

function withOptional<T extends object, K extends string, V>(body: T, key: K, value: V | undefined): T & { [P in K]?: V } {
  return value === undefined ? body : { ...body, [key]: value };
}

/** QMP event name → domain event body. The only place QMP event names appear. */
const EVENT_TABLE: Record<string, (f: Fields) => VmDomainEventBody> = {
  SHUTDOWN: (f) => ({ type: 'shutdown', byGuest: f.bool('guest'), cause: cause(f) }),
  POWERDOWN: () => ({ type: 'powerdownRequested' }),
  RESET: (f) => ({ type: 'reset', byGuest: f.bool('guest'), cause: cause(f) }),
  STOP: () => ({ type: 'paused' }),
  RESUME: () => ({ type: 'resumed' }),
  SUSPEND: () => ({ type: 'suspended', toDisk: false }),
  SUSPEND_DISK: () => ({ type: 'suspended', toDisk: true }),
  WAKEUP: () => ({ type: 'woke' }),
  WATCHDOG: (f) => ({ type: 'watchdogFired', action: f.str('action') }),
  GUEST_PANICKED: (f) => withOptional({ type: 'guestPanicked', action: f.oneOf('action', PANIC_ACTIONS) }, 'info', f.optObj('info')),
  GUEST_CRASHLOADED: (f) => ({ type: 'guestCrashLoaded', action: f.oneOf('action', PANIC_ACTIONS) }),
  DEVICE_DELETED: (f) => withOptional({ type: 'deviceDeleted', qomPath: f.str('path') }, 'deviceId', f.optStr('device')),
  DEVICE_UNPLUG_GUEST_ERROR: (f) => withOptional({ type: 'deviceUnplugGuestError', qomPath: f.str('path') }, 'deviceId', f.optStr('device')),
  DEVICE_TRAY_MOVED: (f) => ({ type: 'trayMoved', blockDevice: f.str('device'), deviceId: f.str('id'), trayOpen: f.bool('tray-open') }),
  BLOCK_IO_ERROR: (f) =>
    withOptional(
      {
        type: 'blockIoError',
        blockDevice: f.str('device'),
        operation: f.oneOf('operation', IO_OPERATIONS),
        action: f.oneOf('action', IO_ACTIONS),
        noSpace: f.optBool('nospace') ?? false,
        reason: f.str('reason'),
      },
      'nodeName',
      f.optStr('node-name'),
    ),
  BLOCK_JOB_COMPLETED: (f) => withOptional({ type: 'blockJobCompleted', ...blockJobProgress(f) }, 'error', f.optStr('error')),
  BLOCK_JOB_CANCELLED: (f) => ({ type: 'blockJobCancelled', ...blockJobProgress(f) }),
  BLOCK_JOB_READY: (f) => ({ type: 'blockJobReady', ...blockJobProgress(f) }),
  BLOCK_JOB_ERROR: (f) => ({
    type: 'blockJobError',
    blockDevice: f.str('device'),
    operation: f.oneOf('operation', IO_OPERATIONS),
    action: f.oneOf('action', IO_ACTIONS),
  }),
  BLOCK_JOB_PENDING: (f) => ({ type: 'blockJobPending', job: f.oneOf('type', JOB_KINDS), jobId: f.str('id') }),
  JOB_STATUS_CHANGE: (f) => ({ type: 'jobStatusChanged', jobId: f.str('id'), status: f.str('status') }),
  BALLOON_CHANGE: (f) => ({ type: 'balloonChanged', actualBytes: f.num('actual') }),
  NIC_RX_FILTER_CHANGED: (f) => withOptional({ type: 'nicRxFilterChanged', qomPath: f.str('path') }, 'nicName', f.optStr('name')),
  RTC_CHANGE: (f) => ({ type: 'rtcChanged', offsetSeconds: f.num('offset') }),
  VSERPORT_CHANGE: (f) => ({ type: 'serialPortChanged', portId: f.str('id'), open: f.bool('open') }),
  VNC_CONNECTED: (f) => ({ type: 'vncConnected', server: vncPeer(f.obj('server')), client: vncPeer(f.obj('client')) }),
  VNC_INITIALIZED: (f) => ({ type: 'vncInitialized', server: vncPeer(f.obj('server')), client: vncPeer(f.obj('client')) }),
  VNC_DISCONNECTED: (f) => ({ type: 'vncDisconnected', server: vncPeer(f.obj('server')), client: vncPeer(f.obj('client')) }),
  MIGRATION: (f) => ({ type: 'migrationStatus', status: f.str('status') }),
  MIGRATION_PASS: (f) => ({ type: 'migrationPass', pass: f.num('pass') }),
};

/** The QMP event names the table knows, for tests and diagnostics. */
export const MAPPED_QMP_EVENTS: readonly string[] = Object.keys(EVENT_TABLE);

/**
 * Maps one raw QMP event message (`{event, data, timestamp}`) to a domain event.
 * Unknown events give `undefined` with a debug line; malformed known events a warning.
 */
export function mapQmpEvent(message: JsonObject, log: QmpLog): VmDomainEvent | undefined {
  const name = message['event'];
  if (typeof name !== 'string') {
    log.warn(`QMP event without a name ignored: ${JSON.stringify(message).slice(0, 200)}`);
    return undefined;
  }
  const map = Object.hasOwn(EVENT_TABLE, name) ? EVENT_TABLE[name] : undefined;
  if (!map) {
    log.debug(`QMP event ${name} ignored (not in the event table)`);
    return undefined;
  }
  const rawData = message['data'];
  const data = typeof rawData === 'object' && rawData !== null && !Array.isArray(rawData) ? (rawData as JsonObject) : {};
  try {
    return { ...map(new Fields(data)), at: timestampMs(message['timestamp']) } as VmDomainEvent;
  } catch (error) {
    if (!(error instanceof MissingField)) throw error;
    log.warn(`QMP event ${name} ignored: field ${error.message} missing or mistyped in ${JSON.stringify(data).slice(0, 200)}`);
    return undefined;
  }
}

function timestampMs(timestamp: unknown): number {
  if (typeof timestamp === 'object' && timestamp !== null) {
    const { seconds, microseconds } = timestamp as { seconds?: unknown; microseconds?: unknown };
    // QEMU sends -1/-1 when it could not read the clock.
    if (typeof seconds === 'number' && typeof microseconds === 'number' && seconds >= 0) {
      return seconds * 1000 + Math.floor(microseconds / 1000);
    }
  }
  return Date.now();
}
