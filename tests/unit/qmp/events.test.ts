import { describe, expect, it } from 'vitest';
import { MAPPED_QMP_EVENTS, mapQmpEvent, type VmDomainEventBody } from '../../../engine/qemu/qmp/events';
import { recordingLog } from './fake-qmp-server';

const at = { seconds: 1700000000, microseconds: 123456 };
const AT = 1700000000123;
const vncServer = { host: '', service: '/run/vd/vnc.sock', family: 'unix', websocket: false, auth: 'none' };
const vncClient = { host: '', service: '/run/vd/vnc.sock', family: 'unix', websocket: false };
const peer = { host: '', service: '/run/vd/vnc.sock', family: 'unix' as const };

/** [QMP event name, data, expected domain event without `at`] */
const CASES: [string, Record<string, unknown> | undefined, VmDomainEventBody][] = [
  ['SHUTDOWN', { guest: true, reason: 'guest-shutdown' }, { type: 'shutdown', byGuest: true, cause: 'guest-shutdown' }],
  ['SHUTDOWN', { guest: false, reason: 'host-signal' }, { type: 'shutdown', byGuest: false, cause: 'host-signal' }],
  ['SHUTDOWN', { guest: false, reason: 'from-the-future' }, { type: 'shutdown', byGuest: false, cause: 'unknown' }],
  ['POWERDOWN', undefined, { type: 'powerdownRequested' }],
  ['RESET', { guest: true, reason: 'guest-reset' }, { type: 'reset', byGuest: true, cause: 'guest-reset' }],
  ['STOP', undefined, { type: 'paused' }],
  ['RESUME', undefined, { type: 'resumed' }],
  ['SUSPEND', undefined, { type: 'suspended', toDisk: false }],
  ['SUSPEND_DISK', undefined, { type: 'suspended', toDisk: true }],
  ['WAKEUP', undefined, { type: 'woke' }],
  ['WATCHDOG', { action: 'reset' }, { type: 'watchdogFired', action: 'reset' }],
  ['GUEST_PANICKED', { action: 'pause' }, { type: 'guestPanicked', action: 'pause' }],
  ['GUEST_PANICKED', { action: 'run', info: { type: 'hyper-v', arg1: 1 } }, { type: 'guestPanicked', action: 'run', info: { type: 'hyper-v', arg1: 1 } }],
  ['GUEST_CRASHLOADED', { action: 'run' }, { type: 'guestCrashLoaded', action: 'run' }],
  ['DEVICE_DELETED', { device: 'nic1', path: '/machine/peripheral/nic1' }, { type: 'deviceDeleted', deviceId: 'nic1', qomPath: '/machine/peripheral/nic1' }],
  ['DEVICE_DELETED', { path: '/machine/peripheral-anon/device[3]/virtio-backend' }, { type: 'deviceDeleted', qomPath: '/machine/peripheral-anon/device[3]/virtio-backend' }],
  ['DEVICE_UNPLUG_GUEST_ERROR', { device: 'd1', path: '/p' }, { type: 'deviceUnplugGuestError', deviceId: 'd1', qomPath: '/p' }],
  ['DEVICE_TRAY_MOVED', { device: '', id: 'cd0', 'tray-open': true }, { type: 'trayMoved', blockDevice: '', deviceId: 'cd0', trayOpen: true }],
  [
    'BLOCK_IO_ERROR',
    { device: '', 'node-name': 'disk0-fmt', operation: 'write', action: 'stop', nospace: true, reason: 'No space left on device' },
    { type: 'blockIoError', blockDevice: '', nodeName: 'disk0-fmt', operation: 'write', action: 'stop', noSpace: true, reason: 'No space left on device' },
  ],
  [
    'BLOCK_JOB_COMPLETED',
    { type: 'mirror', device: 'job0', len: 100, offset: 100, speed: 0 },
    { type: 'blockJobCompleted', job: 'mirror', blockDevice: 'job0', length: 100, offset: 100, speed: 0 },
  ],
  [
    'BLOCK_JOB_COMPLETED',
    { type: 'stream', device: 'job0', len: 100, offset: 10, speed: 0, error: 'Input/output error' },
    { type: 'blockJobCompleted', job: 'stream', blockDevice: 'job0', length: 100, offset: 10, speed: 0, error: 'Input/output error' },
  ],
  ['BLOCK_JOB_CANCELLED', { type: 'backup', device: 'j', len: 9, offset: 3, speed: 5 }, { type: 'blockJobCancelled', job: 'backup', blockDevice: 'j', length: 9, offset: 3, speed: 5 }],
  ['BLOCK_JOB_READY', { type: 'mirror', device: 'j', len: 9, offset: 9, speed: 0 }, { type: 'blockJobReady', job: 'mirror', blockDevice: 'j', length: 9, offset: 9, speed: 0 }],
  ['BLOCK_JOB_ERROR', { device: 'j', operation: 'read', action: 'report' }, { type: 'blockJobError', blockDevice: 'j', operation: 'read', action: 'report' }],
  ['BLOCK_JOB_PENDING', { type: 'commit', id: 'j' }, { type: 'blockJobPending', job: 'commit', jobId: 'j' }],
  ['JOB_STATUS_CHANGE', { id: 'snap0', status: 'concluded' }, { type: 'jobStatusChanged', jobId: 'snap0', status: 'concluded' }],
  ['BALLOON_CHANGE', { actual: 536870912 }, { type: 'balloonChanged', actualBytes: 536870912 }],
  ['NIC_RX_FILTER_CHANGED', { name: 'net0', path: '/machine/peripheral/net0/virtio-backend' }, { type: 'nicRxFilterChanged', nicName: 'net0', qomPath: '/machine/peripheral/net0/virtio-backend' }],
  ['RTC_CHANGE', { offset: -3600, 'qom-path': '/machine/unattached/device[8]' }, { type: 'rtcChanged', offsetSeconds: -3600 }],
  ['VSERPORT_CHANGE', { id: 'channel0', open: true }, { type: 'serialPortChanged', portId: 'channel0', open: true }],
  ['VNC_CONNECTED', { server: vncServer, client: vncClient }, { type: 'vncConnected', server: peer, client: peer }],
  ['VNC_INITIALIZED', { server: vncServer, client: vncClient }, { type: 'vncInitialized', server: peer, client: peer }],
  ['VNC_DISCONNECTED', { server: vncServer, client: vncClient }, { type: 'vncDisconnected', server: peer, client: peer }],
  ['MIGRATION', { status: 'completed' }, { type: 'migrationStatus', status: 'completed' }],
  ['MIGRATION_PASS', { pass: 2 }, { type: 'migrationPass', pass: 2 }],
];

describe('QMP event table', () => {
  it.each(CASES)('maps %s %j', (event, data, expected) => {
    const log = recordingLog();
    const mapped = mapQmpEvent({ event, ...(data ? { data } : {}), timestamp: at }, log);
    expect(mapped).toEqual({ ...expected, at: AT });
    expect(log.lines).toEqual([]);
  });

  it('covers every event the brief names', () => {
    for (const name of ['SHUTDOWN', 'POWERDOWN', 'RESET', 'STOP', 'RESUME', 'SUSPEND', 'WAKEUP', 'DEVICE_DELETED', 'BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED', 'BLOCK_JOB_ERROR', 'BLOCK_JOB_READY', 'JOB_STATUS_CHANGE', 'GUEST_PANICKED', 'BALLOON_CHANGE', 'NIC_RX_FILTER_CHANGED', 'RTC_CHANGE', 'VNC_CONNECTED', 'VNC_INITIALIZED', 'VNC_DISCONNECTED', 'MIGRATION']) {
      expect(MAPPED_QMP_EVENTS).toContain(name);
    }
    // Every mapped event has at least one case above.
    expect(new Set(CASES.map(([name]) => name))).toEqual(new Set(MAPPED_QMP_EVENTS));
  });

  it('ignores unknown events with a debug line', () => {
    const log = recordingLog();
    expect(mapQmpEvent({ event: 'SPICE_CONNECTED', data: {}, timestamp: at }, log)).toBeUndefined();
    expect(mapQmpEvent({ event: 'toString', timestamp: at }, log)).toBeUndefined();
    expect(log.lines.map((line) => line.level)).toEqual(['debug', 'debug']);
  });

  it('drops a known event missing a required field with a warning', () => {
    const log = recordingLog();
    expect(mapQmpEvent({ event: 'SHUTDOWN', data: { reason: 'guest-shutdown' }, timestamp: at }, log)).toBeUndefined();
    expect(mapQmpEvent({ event: 'BLOCK_JOB_ERROR', data: { device: 'j', operation: 'fly', action: 'stop' }, timestamp: at }, log)).toBeUndefined();
    expect(log.lines).toHaveLength(2);
    expect(log.lines[0]).toMatchObject({ level: 'warn' });
    expect(log.lines[0]!.message).toContain('guest');
    expect(log.lines[1]!.message).toContain('unexpected value "fly"');
  });

  it('uses our clock when QEMU had none', () => {
    const before = Date.now();
    const mapped = mapQmpEvent({ event: 'STOP', timestamp: { seconds: -1, microseconds: -1 } }, recordingLog());
    expect(mapped!.at).toBeGreaterThanOrEqual(before);
  });
});
