import { describe, expect, it } from 'vitest';
import { extractQemuMessage, qemuStartError } from '../../../engine/vm/runtime/qemu-errors';
import { decideExitReason } from '../../../engine/vm/supervision/supervisor';

const none = { powerdownRequested: false, panicked: false };

describe('why QEMU ended', () => {
  it('tells a guest that powered itself off from one that answered our ACPI request', () => {
    expect(decideExitReason({ ...none, shutdown: { byGuest: true, cause: 'guest-shutdown' } }, undefined, '')).toEqual({ kind: 'guest-shutdown' });
    expect(decideExitReason({ ...none, powerdownRequested: true, shutdown: { byGuest: true, cause: 'guest-shutdown' } }, undefined, '')).toEqual({ kind: 'user-stopped', forced: false });
  });

  it('counts a QMP quit and a recorded force-off as user stops', () => {
    expect(decideExitReason({ ...none, shutdown: { byGuest: false, cause: 'host-qmp-quit' } }, undefined, '')).toEqual({ kind: 'user-stopped', forced: true });
    // SIGKILL after a hung quit: no SHUTDOWN event, but the intent file says who did it.
    expect(decideExitReason(none, { forced: true }, '')).toEqual({ kind: 'user-stopped', forced: true });
  });

  it('reports a signal from outside as killed, with the sender QEMU logged', () => {
    expect(decideExitReason({ ...none, shutdown: { byGuest: false, cause: 'host-signal' } }, undefined, 'terminating on signal 15 from pid 4242 (bash)')).toEqual({
      kind: 'killed',
      message: 'QEMU was terminated by signal 15 from pid 4242',
    });
  });

  it('reports a silent disappearance as killed and a death with a message as a crash', () => {
    expect(decideExitReason(none, undefined, '').kind).toBe('killed');
    expect(decideExitReason(none, undefined, 'qemu-system-x86_64: ../hw/core/cpu.c:100: assertion failed')).toEqual({
      kind: 'qemu-crashed',
      message: 'qemu-system-x86_64: ../hw/core/cpu.c:100: assertion failed',
    });
    expect(decideExitReason({ ...none, shutdown: { byGuest: true, cause: 'guest-panic' } }, undefined, '').kind).toBe('qemu-crashed');
  });
});

describe("QEMU's messages", () => {
  it('drops our header lines, timestamps and the binary name', () => {
    const log = [
      '[virtdesk] 2026-01-01T00:00:00.000Z starting VM x: qemu-system-x86_64 -S',
      "2026-11-21T20:10:53.985644Z qemu-system-x86_64: -machine q99: unsupported machine type 'q99'",
      'Use -machine help to list supported machines',
      '',
    ].join('\n');
    expect(extractQemuMessage(log, '/usr/bin/qemu-system-x86_64')).toBe("-machine q99: unsupported machine type 'q99'\nUse -machine help to list supported machines");
  });

  it('shortens the JSON QEMU echoes back and points at the log', () => {
    const error = qemuStartError('-blockdev {"driver":"qcow2","file":"disk0-file","node-name":"disk0-fmt","read-only":false,"discard":"unmap","cache":{"direct":false}}: Image is not in qcow2 format', {
      vmName: 'web',
      qemuLog: '/h/vms/x/qemu.log',
      exit: 'exit code 1',
    });
    expect(error.code).toBe('qemu-error');
    expect(error.message).toMatch(/^QEMU refused to start VM "web": -blockdev \{"driver":"qcow2".{0,70}\.\.\.: Image is not in qcow2 format$/);
    expect(error.hint).toBe("QEMU's full output is in /h/vms/x/qemu.log.");
    expect(qemuStartError('', { vmName: 'web', qemuLog: 'l', exit: 'signal SIGSEGV' }).message).toContain('it exited (signal SIGSEGV) without saying why');
  });
});
