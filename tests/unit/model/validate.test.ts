import { describe, expect, it } from 'vitest';
import { assertValidVmDefinition, validateVmDefinition, type VmDefinition, type VmDefinitionInput } from '../../../engine/model';
import { makeVm, thrown } from './helpers';

/** Builds a valid definition, then applies `edit` to get past createVmDefinition's own check. */
function withEdit(input: VmDefinitionInput, edit: (def: VmDefinition) => void): VmDefinition {
  const def = makeVm(input);
  edit(def);
  return def;
}

function fields(def: VmDefinition, context = {}): string[] {
  return validateVmDefinition(def, context).map((p) => String(p.problems[0]?.field));
}

function only(def: VmDefinition, context = {}) {
  const problems = validateVmDefinition(def, context);
  expect(problems).toHaveLength(1);
  return problems[0]!;
}

describe('validateVmDefinition', () => {
  it('finds nothing wrong with a default definition', () => {
    expect(validateVmDefinition(makeVm({ name: 'fine' }))).toEqual([]);
  });

  describe('against other definitions', () => {
    it('refuses a taken name', () => {
      const other = makeVm({ name: 'web' });
      const clash = withEdit({ name: 'x' }, (d) => (d.name = 'web'));
      const problem = only(clash, { others: [other] });
      expect(problem.code).toBe('already-exists');
      expect(problem.message).toBe(`A VM named "web" already exists (id ${other.id})`);
      expect(problem.hint).toMatch(/another name/);
    });

    it('skips the definition itself among others (edits)', () => {
      const def = makeVm({ name: 'self' });
      expect(validateVmDefinition(def, { others: [def] })).toEqual([]);
    });

    it('refuses a MAC used by another VM', () => {
      const other = makeVm({ name: 'a', nics: [{ mac: '52:54:00:00:00:01' }] });
      const def = makeVm({ name: 'b', nics: [{ mac: '52:54:00:00:00:01' }] });
      const problem = only(def, { others: [other] });
      expect(problem.code).toBe('already-exists');
      expect(problem.message).toBe('MAC address 52:54:00:00:00:01 is already used by VM "a"');
    });

    it('refuses an end of a link another VM holds', () => {
      const left = makeVm({ name: 'l', nics: [{ network: { kind: 'link', name: 'w', role: 'a' } }] });
      const right = makeVm({ name: 'r', nics: [{ network: { kind: 'link', name: 'w', role: 'a' } }] });
      expect(only(right, { others: [left] }).message).toMatch(/End a of link "w" is already used by VM "l"/);
    });
  });

  describe('within one definition', () => {
    it('refuses a MAC twice and a device id twice', () => {
      const def = withEdit({ name: 'x', nics: [{}, {}], disks: [{ source: '/a' }] }, (d) => {
        d.nics[1]!.mac = d.nics[0]!.mac;
        d.disks[0]!.id = 'net0';
      });
      expect(fields(def)).toEqual(['nics[0].id', 'nics[1].mac']);
    });

    it('refuses the same image attached writable twice, but allows read-only sharing', () => {
      const twice = withEdit({ name: 'x', disks: [{ source: '/a' }, { source: '/b' }] }, (d) => (d.disks[1]!.source = '/a'));
      expect(only(twice).message).toMatch(/The image \/a is attached writable twice/);
      expect(validateVmDefinition(makeVm({ name: 'y', disks: [{ source: '/a', readOnly: true }, { source: '/a', readOnly: true }] }))).toEqual([]);
    });

    it('refuses a read-only disk on SATA or IDE (QEMU: "Block node is read-only")', () => {
      const sata = withEdit({ name: 'x', disks: [{ source: '/a', bus: 'sata' }] }, (d) => (d.disks[0]!.readOnly = true));
      expect(only(sata).problems[0]?.field).toBe('disks[0].readOnly');
      expect(only(sata).hint).toMatch(/virtio or scsi/);
      expect(validateVmDefinition(makeVm({ name: 'y', disks: [{ source: '/a', bus: 'scsi', readOnly: true }] }))).toEqual([]);
    });

    it('refuses clashing port forwards', () => {
      const def = withEdit({ name: 'x', nics: [{ network: { kind: 'user', portForwards: [{ hostPort: 80, guestPort: 80 }, { hostPort: 81, guestPort: 80 }] } }] }, (d) => {
        if (d.nics[0]!.network.kind === 'user') d.nics[0]!.network.portForwards[1]!.hostPort = 80;
      });
      expect(only(def).message).toMatch(/Port forward tcp 127\.0\.0\.1:80 clashes with nics\[0\]\.network\.portForwards\[0\]/);
      // Different protocols do not clash.
      expect(validateVmDefinition(makeVm({ name: 'y', nics: [{ network: { kind: 'user', portForwards: [{ hostPort: 53, guestPort: 53 }, { protocol: 'udp', hostPort: 53, guestPort: 53 }] } }] }))).toEqual([]);
    });

    it('refuses user-network addresses outside the subnet or equal to each other', () => {
      const outside = withEdit({ name: 'x' }, (d) => (d.nics[0]!.network = { kind: 'user', subnet: '10.0.3.0/24', hostAddress: '10.0.2.2', portForwards: [] }));
      expect(only(outside).message).toBe('hostAddress 10.0.2.2 is not a host address of the subnet 10.0.3.0/24');
      const same = withEdit({ name: 'y' }, (d) => (d.nics[0]!.network = { kind: 'user', hostAddress: '10.0.2.2', dns: '10.0.2.2', portForwards: [] }));
      expect(only(same).message).toBe('dns and hostAddress are both 10.0.2.2');
      const tiny = withEdit({ name: 'z' }, (d) => (d.nics[0]!.network = { kind: 'user', subnet: '10.0.2.0/31', portForwards: [] }));
      expect(only(tiny).message).toMatch(/too small/);
    });
  });

  describe('resources', () => {
    it('refuses current memory above the maximum', () => {
      const def = withEdit({ name: 'x' }, (d) => (d.memory.currentMiB = 4096));
      expect(only(def).problems[0]?.field).toBe('memory.currentMiB');
    });

    it('refuses memory beyond what the host can give', () => {
      const problem = only(makeVm({ name: 'x', memory: { maximumMiB: 65536 } }), { host: { maxMemoryMiB: 16000, maxVcpus: 8 } });
      expect(problem.code).toBe('invalid-argument');
      expect(problem.message).toBe('65536 MiB of memory is more than this host can give a VM (16000 MiB)');
      expect(problem.hint).toBe('Use at most 16000 MiB.');
    });

    it('refuses more vCPUs than the host allows, counting hot-pluggable ones', () => {
      expect(only(makeVm({ name: 'x', cpu: { vcpus: 16 } }), { host: { maxMemoryMiB: 16000, maxVcpus: 8 } }).message).toBe('16 vCPUs are more than this host allows (8)');
      expect(only(makeVm({ name: 'y', cpu: { vcpus: 2, cores: 12 } }), { host: { maxMemoryMiB: 16000, maxVcpus: 8 } }).message).toBe('12 vCPUs are more than this host allows (8)');
      expect(validateVmDefinition(makeVm({ name: 'z', cpu: { vcpus: 8 } }), { host: { maxMemoryMiB: 16000, maxVcpus: 8 } })).toEqual([]);
    });

    it('refuses vcpus beyond the topology and topologies beyond 255', () => {
      const over = withEdit({ name: 'x', cpu: { sockets: 1, cores: 2, threads: 1 } }, (d) => (d.cpu.vcpus = 3));
      expect(only(over).message).toBe('3 vCPUs do not fit the topology 1 × 2 × 1 (at most 2)');
      const huge = withEdit({ name: 'y' }, (d) => Object.assign(d.cpu, { sockets: 16, cores: 16, threads: 2 }));
      expect(only(huge).message).toMatch(/gives 512 vCPUs; at most 255/);
    });
  });

  describe('platform', () => {
    it('refuses Secure Boot without UEFI and without q35', () => {
      expect(only(withEdit({ name: 'x' }, (d) => (d.firmware.secureBoot = true))).message).toBe('Secure Boot needs UEFI firmware');
      expect(only(withEdit({ name: 'y', machine: 'pc', firmware: { type: 'uefi' } }, (d) => (d.firmware.secureBoot = true))).message).toMatch(/needs the q35 machine/);
    });

    it('refuses host-passthrough under TCG', () => {
      expect(only(withEdit({ name: 'x', accelerator: 'tcg' }, (d) => (d.cpu.model = 'host-passthrough'))).problems[0]?.field).toBe('cpu.model');
      expect(validateVmDefinition(makeVm({ name: 'y', accelerator: 'kvm', cpu: { model: 'host-passthrough' } }))).toEqual([]);
    });

    it('refuses IDE on q35 and points to SATA', () => {
      const def = withEdit({ name: 'x', disks: [{ source: '/a' }], cdroms: [{}] }, (d) => {
        d.disks[0]!.bus = 'ide';
        d.cdroms[0]!.bus = 'ide';
      });
      const problems = validateVmDefinition(def);
      expect(problems.map((p) => p.problems[0]?.field)).toEqual(['disks[0].bus', 'cdroms[0].bus']);
      expect(problems[0]!.hint).toMatch(/sata/);
      expect(validateVmDefinition(makeVm({ name: 'pc', machine: 'pc', disks: [{ source: '/a', bus: 'ide' }], cdroms: [{ bus: 'ide' }] }))).toEqual([]);
    });

    it('refuses more IDE devices than PIIX holds and more SATA devices than AHCI ports', () => {
      const ide = makeVm({ name: 'x', machine: 'pc', cdroms: [{ bus: 'ide' }, { bus: 'ide' }] });
      ide.disks = ['/a', '/b', '/c'].map((source, i) => ({ id: `d${i}`, source, format: 'raw', bus: 'ide', cache: 'none', readOnly: false, discard: 'unmap' }));
      expect(only(ide).message).toMatch(/5 IDE disks and CD-ROMs are more than the 4/);
      const sata = withEdit({ name: 'y', cdroms: [{}, {}, {}, {}, {}, {}] }, (d) => d.cdroms.push({ id: 'extra', bus: 'sata', media: null }));
      expect(only(sata).message).toMatch(/7 SATA disks and CD-ROMs are more than the 6 ports/);
    });
  });

  it('refuses boot-once from a kind of device the VM lacks', () => {
    expect(only(withEdit({ name: 'x' }, (d) => (d.boot.bootOnce = 'cdrom'))).message).toBe('Boot once from cdrom was asked for, but the VM has no CD-ROM');
    expect(validateVmDefinition(makeVm({ name: 'y', cdroms: [{}], boot: { bootOnce: 'cdrom' } }))).toEqual([]);
  });
});

describe('assertValidVmDefinition', () => {
  it('throws the single problem as it is', () => {
    const def = withEdit({ name: 'x' }, (d) => (d.memory.currentMiB = 4096));
    expect(thrown(() => assertValidVmDefinition(def)).problems.map((p) => p.field)).toEqual(['memory.currentMiB']);
  });

  it('throws all problems in one error with each in details', () => {
    const def = withEdit({ name: 'x' }, (d) => {
      d.memory.currentMiB = 4096;
      d.firmware.secureBoot = true;
    });
    const error = thrown(() => assertValidVmDefinition(def, { host: { maxMemoryMiB: 512, maxVcpus: 4 } }));
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toMatch(/^The VM definition "x" has 3 problems: /);
    expect(error.problems.map((p) => p.field)).toEqual(['memory.currentMiB', expect.any(String), expect.any(String)]);
  });

  it('keeps already-exists when every problem is a clash', () => {
    const other = makeVm({ name: 'same', nics: [{ mac: '52:54:00:00:00:09' }] });
    const def = withEdit({ name: 'x', nics: [{ mac: '52:54:00:00:00:09' }] }, (d) => (d.name = 'same'));
    expect(thrown(() => assertValidVmDefinition(def, { others: [other] })).code).toBe('already-exists');
  });
});
