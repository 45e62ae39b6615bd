import { describe, expect, it } from 'vitest';
import type { EngineError } from '../../engine/api/errors';
import { createVmDefinition, type VmDefinitionInput } from '../../engine/model';
import {
  buildQemuArgv,
  diskBlockdevs,
  diskDevice,
  nicDevice,
  nicNetdev,
  optionValue,
  planBootIndexes,
  planDeviceLayout,
  planPci,
  MIN_ROOT_PORTS,
  type ArgvInput,
} from '../../engine/qemu/argv';
import { goldenDevices, goldenRuntimePaths } from './argv/golden-cases';

const ID = '11111111-2222-4333-8444-555555555555';

function vm(input: Omit<VmDefinitionInput, 'name'> = {}) {
  return createVmDefinition({ name: 'unit', id: ID, createdAt: '2025-01-01T00:00:00Z', ...input, nics: input.nics ?? [{ mac: '52:54:00:00:00:01' }] });
}

function argvInput(input: Omit<VmDefinitionInput, 'name'> = {}, extra: Partial<ArgvInput> = {}): ArgvInput {
  return {
    definition: vm(input),
    accel: 'tcg',
    cpuModel: 'max',
    paths: goldenRuntimePaths(`/run/vd/${ID}`, `/data/${ID}`),
    caps: { devices: goldenDevices() },
    ...extra,
  };
}

function thrown(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (error) {
    return error as EngineError;
  }
  throw new Error('expected an error');
}

/** The JSON objects following each occurrence of `flag`. */
function jsonArgs(argv: string[], flag: string): Record<string, unknown>[] {
  return argv.flatMap((arg, i) => (argv[i - 1] === flag ? [JSON.parse(arg) as Record<string, unknown>] : []));
}

describe('buildQemuArgv', () => {
  it('starts with -nodefaults -no-user-config -S and never daemonizes or opens TCP/websocket VNC', () => {
    const argv = buildQemuArgv(argvInput());
    expect(argv.slice(0, 3)).toEqual(['-nodefaults', '-no-user-config', '-S']);
    expect(argv).not.toContain('-daemonize');
    const vnc = argv[argv.indexOf('-vnc') + 1]!;
    expect(vnc).toMatch(/^unix:/);
    expect(vnc).not.toMatch(/websocket/);
  });

  it('refuses a device this QEMU lacks, saying which field needs it', () => {
    const devices = new Set(goldenDevices());
    devices.delete('qxl-vga');
    const error = thrown(() => buildQemuArgv(argvInput({ display: { video: 'qxl' } }, { caps: { devices } })));
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe('This QEMU has no "qxl-vga" device, which the qxl video model needs');
    expect(error.hint).toMatch(/does not use the qxl video model/);
  });

  it('refuses socket paths longer than sun_path allows', () => {
    const long = `/run/${'x'.repeat(100)}`;
    const error = thrown(() => buildQemuArgv(argvInput({}, { paths: goldenRuntimePaths(long, '/data') })));
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toMatch(/qmp\.sock is 114 bytes long; unix sockets allow at most 107/);
    expect(error.hint).toMatch(/VIRTDESK_RUNTIME_DIR/);
  });

  it('doubles commas in option-string paths but not in JSON', () => {
    const argv = buildQemuArgv(argvInput({ disks: [{ source: '/img/a,b.qcow2' }] }, { paths: goldenRuntimePaths('/run/a,b', '/data/c,d') }));
    expect(argv).toContain('unix:/run/a,,b/vnc.sock');
    expect(argv.find((arg) => arg.includes('serial.sock'))).toContain('path=/run/a,,b/serial.sock,server=on,wait=off,logfile=/data/c,,d/serial.log,logappend=on');
    expect(argv[argv.indexOf('-pidfile') + 1]).toBe('/run/a,b/qemu.pid');
    expect(jsonArgs(argv, '-blockdev')[0]).toMatchObject({ filename: '/img/a,b.qcow2' });
    expect(optionValue('a,,b')).toBe('a,,,,b');
  });

  it('asks for the UEFI firmware and for NIC backends it needs', () => {
    expect(thrown(() => buildQemuArgv(argvInput({ firmware: { type: 'uefi' } }))).hint).toMatch(/apt install ovmf/);
    const bridged = thrown(() => buildQemuArgv(argvInput({ nics: [{ mac: '52:54:00:00:00:02', network: { kind: 'network', name: 'lab' } }] })));
    expect(bridged.message).toBe('NIC net0 is on network "lab", but nothing was set up for it');
    expect(bridged.hint).toBe('Start the network "lab" first.');
    const wrong = thrown(() =>
      buildQemuArgv(
        argvInput({ nics: [{ mac: '52:54:00:00:00:02', network: { kind: 'link', name: 'w', role: 'a' } }] }, { nicBackends: { net0: { type: 'tap', ifname: 'tap0' } } }),
      ),
    );
    expect(wrong.message).toMatch(/it was given a tap backend/);
  });

  it('emits the same props objects the hot-plug builders return', () => {
    const input = argvInput({ disks: [{ source: '/img/a.qcow2', serial: 'S1' }] });
    const argv = buildQemuArgv(input);
    const def = input.definition;
    const layout = planDeviceLayout(def);
    const disk = def.disks[0]!;
    const nic = def.nics[0]!;
    expect(jsonArgs(argv, '-blockdev')).toEqual(diskBlockdevs(disk));
    expect(jsonArgs(argv, '-device')).toContainEqual(diskDevice(disk, layout.pci.devices.get(disk.id)!, { bootindex: 1 }));
    expect(jsonArgs(argv, '-netdev')).toEqual([nicNetdev(nic)]);
    expect(jsonArgs(argv, '-device')).toContainEqual(nicDevice(nic, layout.pci.devices.get(nic.id)!));
  });

  it('maps cache modes to O_DIRECT / no-flush / write-cache as libvirt does', () => {
    const def = vm({ disks: ['none', 'writethrough', 'unsafe'].map((cache, i) => ({ source: `/i/${i}`, cache: cache as 'none' })) });
    const slot = { bus: 'x', addr: '0x0' };
    expect(def.disks.map((d) => [diskBlockdevs(d)[1].cache, diskDevice(d, slot)['write-cache']])).toEqual([
      [{ direct: true, 'no-flush': false }, 'on'],
      [{ direct: false, 'no-flush': false }, 'off'],
      [{ direct: false, 'no-flush': true }, 'on'],
    ]);
  });
});

describe('device layout', () => {
  it('q35: one root port per PCI device, at least 14 and at least 4 spare', () => {
    const small = planPci(vm());
    expect(small.rootPorts).toHaveLength(MIN_ROOT_PORTS);
    expect(small.spareRootPorts).toHaveLength(MIN_ROOT_PORTS - 4); // NIC, USB, balloon, RNG
    const big = planPci(vm({ disks: Array.from({ length: 20 }, (_, i) => ({ source: `/i/${i}` })) }));
    expect(big.rootPorts).toHaveLength(24 + 4);
    expect(big.spareRootPorts).toHaveLength(4);
    expect(big.rootPorts[8]!.placement).toEqual({ bus: 'pcie.0', addr: '0x3' });
    expect(big.rootPorts[9]!.placement).toEqual({ bus: 'pcie.0', addr: '0x3.0x1' });
    expect(big.rootPorts.filter((p) => p.multifunction).map((p) => p.id)).toEqual(['vd-rp0', 'vd-rp8', 'vd-rp16', 'vd-rp24']);
  });

  it('keeps NICs on their slots when disks are added', () => {
    const before = planPci(vm({ disks: [{ source: '/a' }] }));
    const after = planPci(vm({ disks: [{ source: '/a' }, { source: '/b' }] }));
    expect(after.devices.get('net0')).toEqual(before.devices.get('net0'));
    expect(after.devices.get('disk0')).toEqual(before.devices.get('disk0'));
  });

  it('pc: devices on pci.0 from slot 3, and refuses more than the bus holds', () => {
    const pc = planPci(vm({ machine: 'pc' }));
    expect(pc.video).toEqual({ bus: 'pci.0', addr: '0x2' });
    expect(pc.devices.get('net0')).toEqual({ bus: 'pci.0', addr: '0x3' });
    const error = thrown(() => planPci(vm({ machine: 'pc', disks: Array.from({ length: 30 }, (_, i) => ({ source: `/i/${i}` })) })));
    expect(error.message).toMatch(/The pc machine has 29 free PCI slots, but this VM needs 34/);
  });

  it('boot indexes follow the order, boot-once first, and can leave boot-once out', () => {
    const def = vm({ disks: [{ source: '/a' }, { source: '/b' }], cdroms: [{}], boot: { order: ['disk', 'cdrom'], bootOnce: 'cdrom' } });
    expect(Object.fromEntries(planBootIndexes(def))).toEqual({ cdrom0: 1, disk0: 2, disk1: 3 });
    expect(Object.fromEntries(planBootIndexes(def, { ignoreBootOnce: true }))).toEqual({ disk0: 1, disk1: 2, cdrom0: 3 });
  });
});
