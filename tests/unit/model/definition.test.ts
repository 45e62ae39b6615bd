import { describe, expect, it } from 'vitest';
import { createVmDefinition, keepUnknownFields, parseVmDefinition, unknownFieldPaths } from '../../../engine/model';
import { makeVm, thrown } from './helpers';

describe('createVmDefinition input checks', () => {
  it('refuses unknown fields at any depth, naming them', () => {
    const error = thrown(() => createVmDefinition({ name: 'x', memroy: 2048, disks: [{ source: '/a', buss: 'scsi' }] } as never));
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toBe('Unknown fields in the VM definition: memroy, disks[0].buss');
    expect(error.problems.map((p) => p.field)).toEqual(['memroy', 'disks[0].buss']);
  });

  it('reports every schema problem at once, naming fields', () => {
    const error = thrown(() =>
      createVmDefinition({ name: 'x', memory: { maximumMiB: 0 }, cpu: { vcpus: 0 }, disks: [{ source: 'relative.qcow2', cache: 'fast' as never }] }),
    );
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toMatch(/memory\.maximumMiB: memory must be at least 16 MiB \(the unit is MiB/);
    expect(error.message).toMatch(/cpu\.vcpus: vcpus must be at least 1/);
    expect(error.message).toMatch(/disks\.0\.source: must be an absolute path/);
    expect(error.message).toMatch(/disks\.0\.cache/);
    expect(error.problems.map((p) => p.field).sort()).toEqual(['cpu.vcpus', 'disks[0].cache', 'disks[0].source', 'memory.maximumMiB']);
  });

  it('assigns the free end of a link, taking other definitions into account', () => {
    const first = makeVm({ name: 'left', nics: [{ network: { kind: 'link', name: 'wire' } }] });
    expect(first.nics[0]!.network).toEqual({ kind: 'link', name: 'wire', role: 'a' });
    const second = makeVm({ name: 'right', nics: [{ network: { kind: 'link', name: 'wire' } }] }, { existing: [first] });
    expect(second.nics[0]!.network).toEqual({ kind: 'link', name: 'wire', role: 'b' });
    const third = thrown(() => makeVm({ name: 'third', nics: [{ network: { kind: 'link', name: 'wire' } }] }, { existing: [first, second] }));
    expect(third.message).toMatch(/Link "wire" already joins two NICs/);
  });

  it('validates the result (cross-field rules) and throws', () => {
    expect(thrown(() => createVmDefinition({ name: 'x', memory: { maximumMiB: 512, currentMiB: 1024 } })).message).toMatch(/Current memory \(1024 MiB\) is more than the maximum/);
  });
});

const STORED = {
  schemaVersion: 1,
  id: '00000000-0000-4000-8000-00000000abcd',
  name: 'stored',
  description: 'from disk',
  tags: ['lab'],
  osId: 'debian12',
  createdAt: '2025-01-02T03:04:05.000Z',
  firmware: { type: 'uefi', secureBoot: false, futureFlag: true },
  machine: 'q35',
  accelerator: 'tcg',
  cpu: { model: 'max', sockets: 1, cores: 2, threads: 1, vcpus: 2 },
  memory: { maximumMiB: 2048, currentMiB: 1536 },
  boot: { order: ['cdrom', 'disk'], menu: true, bootOnce: null },
  directKernel: null,
  disks: [{ id: 'disk0', source: '/images/a.qcow2', format: 'qcow2', bus: 'virtio', cache: 'none', readOnly: false, discard: 'unmap', iothread: 'io1' }],
  cdroms: [{ id: 'cdrom0', bus: 'sata', media: null }],
  nics: [{ id: 'net0', mac: '52:54:00:00:00:01', model: 'virtio', network: { kind: 'user', portForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2222, guestPort: 22, label: 'ssh' }] } }],
  display: { vnc: true, video: 'virtio-vga', usbTablet: true },
  serial: true,
  balloon: true,
  rng: true,
  autostart: false,
  tpm: { model: 'tpm-crb' },
};

describe('parseVmDefinition', () => {
  it('round-trips a stored document with unknown fields kept at every depth', () => {
    const parsed = parseVmDefinition(structuredClone(STORED));
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(STORED);
    expect(parseVmDefinition(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
  });

  it('round-trips what createVmDefinition makes', () => {
    const def = makeVm({ name: 'rt', disks: [{ source: '/x.raw', format: 'raw', serial: 'S1' }], cdroms: [{ media: '/iso/d.iso' }], directKernel: { kernel: '/k' } });
    expect(parseVmDefinition(JSON.parse(JSON.stringify(def)))).toEqual(def);
  });

  it('fills defaults for fields a stored document lacks (fields added later)', () => {
    const { display, serial, autostart, ...older } = STORED;
    void display;
    void serial;
    void autostart;
    const parsed = parseVmDefinition(older);
    expect(parsed.display).toEqual({ vnc: true, video: 'virtio-vga', usbTablet: true });
    expect(parsed.serial).toBe(true);
    expect(parsed.autostart).toBe(false);
  });

  it('refuses invalid values naming each field, and does not apply cross-field rules', () => {
    const bad = { ...structuredClone(STORED), machine: 'isapc', nics: [{ ...STORED.nics[0], mac: 'nope' }] };
    const error = thrown(() => parseVmDefinition(bad));
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toMatch(/machine: /);
    expect(error.message).toMatch(/nics\.0\.mac: MAC address "nope"/);
    const crossField = { ...structuredClone(STORED), memory: { maximumMiB: 512, currentMiB: 1024 } };
    expect(parseVmDefinition(crossField).memory.currentMiB).toBe(1024);
  });

  it('refuses a non-object', () => {
    expect(thrown(() => parseVmDefinition('[]')).code).toBe('invalid-argument');
  });
});

describe('unknown-field helpers', () => {
  it('lists and restores dropped keys inside arrays and objects', () => {
    const raw = { a: 1, x: { y: 2, z: [{ k: 1, extra: true }] }, gone: 'g' };
    const parsed = { a: 1, x: { y: 2, z: [{ k: 1 }] } };
    expect(unknownFieldPaths(raw, parsed)).toEqual(['x.z[0].extra', 'gone']);
    expect(keepUnknownFields(raw, parsed)).toEqual(raw);
  });
});
