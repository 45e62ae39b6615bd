import { describe, expect, it } from 'vitest';
import { createVmDefinition, VM_DEFAULTS } from '../../../engine/model';
import { FIXED_NOW } from './helpers';

describe('createVmDefinition defaults', () => {
  it('fills every field from VM_DEFAULTS for a name alone', () => {
    const def = createVmDefinition({ name: 'plain' }, { now: FIXED_NOW });
    const nic = def.nics[0]!;
    expect(def).toEqual({
      schemaVersion: 1,
      id: def.id,
      name: 'plain',
      description: '',
      tags: [],
      osId: null,
      createdAt: '2025-01-02T03:04:05.000Z',
      firmware: { type: 'bios', secureBoot: false },
      machine: 'q35',
      accelerator: 'auto',
      cpu: { model: 'default', sockets: 1, cores: 1, threads: 1, vcpus: 1 },
      memory: { maximumMiB: 1024, currentMiB: 1024 },
      boot: { order: ['disk', 'cdrom'], menu: false, bootOnce: null },
      directKernel: null,
      disks: [],
      cdroms: [],
      nics: [{ id: 'net0', mac: nic.mac, model: 'virtio', network: { kind: 'user', portForwards: [] } }],
      display: { vnc: true, video: 'virtio-vga', usbTablet: true },
      serial: true,
      balloon: true,
      rng: true,
      autostart: false,
    });
    expect(def.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(nic.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });

  it('fills device defaults: virtio qcow2 disk with writeback cache and discard=unmap, empty SATA CD-ROM', () => {
    const def = createVmDefinition({ name: 'devs', disks: [{ source: '/images/a.qcow2' }], cdroms: [{}] });
    expect(def.disks).toEqual([
      { id: 'disk0', source: '/images/a.qcow2', format: VM_DEFAULTS.diskFormat, bus: 'virtio', cache: 'writeback', readOnly: false, discard: 'unmap' },
    ]);
    expect(def.cdroms).toEqual([{ id: 'cdrom0', bus: 'sata', media: null }]);
  });

  it('fills port forward defaults: tcp on 127.0.0.1', () => {
    const def = createVmDefinition({ name: 'fw', nics: [{ network: { kind: 'user', portForwards: [{ hostPort: 8080, guestPort: 80 }] } }] });
    expect(def.nics[0]!.network).toEqual({ kind: 'user', portForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 }] });
  });

  it('gives no NIC for nics: []', () => {
    expect(createVmDefinition({ name: 'offline', nics: [] }).nics).toEqual([]);
  });

  it('does not share default objects between definitions', () => {
    const a = createVmDefinition({ name: 'a' });
    const b = createVmDefinition({ name: 'b' });
    a.boot.order.push('network');
    a.display.vnc = false;
    expect(b.boot.order).toEqual(['disk', 'cdrom']);
    expect(b.display.vnc).toBe(true);
    expect(createVmDefinition({ name: 'c' }).boot.order).toEqual(['disk', 'cdrom']);
  });

  it('uses the given clock and random ids', () => {
    const a = createVmDefinition({ name: 'a' });
    const b = createVmDefinition({ name: 'b' });
    expect(a.id).not.toBe(b.id);
    expect(Date.parse(a.createdAt)).toBeGreaterThan(Date.parse('2024-01-01'));
  });
});

describe('CPU topology and memory derived from the input', () => {
  it('puts vcpus alone into cores of one socket, as virt-manager does', () => {
    expect(createVmDefinition({ name: 'c', cpu: { vcpus: 4 } }).cpu).toEqual({ model: 'default', sockets: 1, cores: 4, threads: 1, vcpus: 4 });
  });

  it('takes vcpus from a full topology', () => {
    expect(createVmDefinition({ name: 'c', cpu: { sockets: 2, cores: 2, threads: 2 } }).cpu).toEqual({ model: 'default', sockets: 2, cores: 2, threads: 2, vcpus: 8 });
  });

  it('fills missing cores so the topology holds the vcpus', () => {
    expect(createVmDefinition({ name: 'c', cpu: { vcpus: 6, sockets: 2 } }).cpu).toMatchObject({ sockets: 2, cores: 3, threads: 1, vcpus: 6 });
  });

  it('keeps fewer online vcpus than the topology allows (the rest are hot-pluggable)', () => {
    expect(createVmDefinition({ name: 'c', cpu: { vcpus: 2, sockets: 1, cores: 4, threads: 1 } }).cpu).toMatchObject({ vcpus: 2, cores: 4 });
  });

  it('sets current memory to the maximum unless given', () => {
    expect(createVmDefinition({ name: 'm', memory: { maximumMiB: 2048 } }).memory).toEqual({ maximumMiB: 2048, currentMiB: 2048 });
    expect(createVmDefinition({ name: 'm', memory: { maximumMiB: 2048, currentMiB: 1024 } }).memory).toEqual({ maximumMiB: 2048, currentMiB: 1024 });
  });
});
