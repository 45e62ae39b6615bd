import { describe, expect, it } from 'vitest';
import { accelHelpArgv, capabilityProbeArgv, cpuModelProbeArgv, migrationFromFileUri, migrationToFileUri, probeMonitorArgv } from '../../engine/qemu/argv';

// The host probes' QEMU command lines, spelled out: a change here changes what every host check runs.
describe('probe command lines (engine/qemu/argv/probe)', () => {
  it('asks for accelerators with -accel help', () => {
    expect(accelHelpArgv()).toEqual(['-accel', 'help']);
  });

  it('probes capabilities with no machine, under TCG, paused and headless', () => {
    expect(capabilityProbeArgv()).toEqual(['-machine', 'none', '-accel', 'tcg', '-nodefaults', '-no-user-config', '-S', '-display', 'none']);
  });

  it('tries a CPU model in a 64 MiB paused VM', () => {
    expect(cpuModelProbeArgv('kvm', 'q35', 'host,-arch-capabilities')).toEqual([
      '-accel', 'kvm', '-machine', 'q35', '-cpu', 'host,-arch-capabilities', '-m', '64', '-nodefaults', '-no-user-config', '-S', '-display', 'none',
    ]);
  });

  it('gives the probe a private QMP monitor on a listening socket (commas in the path escaped)', () => {
    expect(probeMonitorArgv('/tmp/virtdesk-probe-x/qmp.sock')).toEqual([
      '-chardev', 'socket,id=probe-qmp,path=/tmp/virtdesk-probe-x/qmp.sock,server=on,wait=off', '-mon', 'chardev=probe-qmp,mode=control',
    ]);
    expect(probeMonitorArgv('/tmp/a,b/qmp.sock')[1]).toBe('socket,id=probe-qmp,path=/tmp/a,,b/qmp.sock,server=on,wait=off');
  });
});

describe('migration URIs for save and restore', () => {
  it('streams through cat to and from a shell-quoted file', () => {
    expect(migrationToFileUri('/data/vms/1/saved/memory.partial')).toBe("exec:cat > '/data/vms/1/saved/memory.partial'");
    expect(migrationFromFileUri("/data/it's here/memory")).toBe(`exec:cat '/data/it'\\''s here/memory'`);
  });
});
