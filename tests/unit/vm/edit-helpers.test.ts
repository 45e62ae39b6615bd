import { describe, expect, it } from 'vitest';
import { applyMergePatch } from '../../../engine/vm/definitions/merge-patch';
import { fillNewDevices } from '../../../engine/vm/definitions/new-devices';

describe('applyMergePatch (RFC 7396)', () => {
  it('merges objects, replaces arrays, removes on null, and names what changed', () => {
    const target = { name: 'a', memory: { maxMiB: 1024, currentMiB: 512 }, disks: [{ id: 'disk0' }], keep: 1, gone: true };
    const { value, changed } = applyMergePatch(target, { memory: { currentMiB: 768 }, disks: [], gone: null, name: 'a' });
    expect(value).toEqual({ name: 'a', memory: { maxMiB: 1024, currentMiB: 768 }, disks: [], keep: 1 });
    expect(changed.sort()).toEqual(['disks', 'gone', 'memory.currentMiB']);
    expect(target.memory.currentMiB).toBe(512);
  });
});

describe('fillNewDevices', () => {
  it('gives new devices free ids and new NICs MACs unique across all VMs, leaving existing ones alone', () => {
    const taken = new Set(['52:54:00:00:00:01']);
    const doc = fillNewDevices(
      {
        disks: [{ id: 'disk0', source: '/a' }, { source: '/b' }],
        cdroms: [{ media: null }],
        nics: [{ id: 'net0', mac: '52:54:00:00:00:02' }, { network: { kind: 'user' } }],
      },
      taken,
    ) as { disks: { id: string }[]; cdroms: { id: string }[]; nics: { id: string; mac: string }[] };
    expect(doc.disks.map((d) => d.id)).toEqual(['disk0', 'disk1']);
    expect(doc.cdroms[0]?.id).toBe('cdrom0');
    expect(doc.nics[0]).toMatchObject({ id: 'net0', mac: '52:54:00:00:00:02' });
    expect(doc.nics[1]?.id).toBe('net1');
    expect(doc.nics[1]?.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(['52:54:00:00:00:01', '52:54:00:00:00:02']).not.toContain(doc.nics[1]?.mac);
  });
});
