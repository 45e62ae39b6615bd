import { describe, expect, it } from 'vitest';
import { hardwareChanges } from '../../../engine/vm/ops/snapshots';
import { vm } from './helpers';

describe('hardwareChanges', () => {
  const base = vm({ disks: [{ source: '/images/a.qcow2' }], nics: [{ mac: '52:54:00:00:00:01', network: { kind: 'user', portForwards: [{ hostPort: 8080, guestPort: 80 }] } }] });

  it('ignores metadata, the balloon target and host port forwards', () => {
    const edited = {
      ...base,
      name: 'renamed',
      description: 'new words',
      osId: 'debian12',
      autostart: true,
      memory: { ...base.memory, currentMiB: 512 },
      nics: base.nics.map((nic) => ({ ...nic, network: { kind: 'user' as const, portForwards: [] } })),
    };
    expect(hardwareChanges(base, edited)).toEqual([]);
  });

  it('names what the guest would see differently, one level deep', () => {
    const edited = { ...base, machine: 'pc' as const, memory: { ...base.memory, maximumMiB: 4096 }, disks: [...base.disks, { ...base.disks[0]!, id: 'disk1', source: '/images/b.qcow2' }] };
    expect(hardwareChanges(base, edited)).toEqual(['disks', 'machine', 'memory.maximumMiB']);
  });

  it('does not count key order as a change', () => {
    const reordered = JSON.parse(JSON.stringify({ ...base, cpu: { vcpus: base.cpu.vcpus, threads: base.cpu.threads, cores: base.cpu.cores, sockets: base.cpu.sockets, model: base.cpu.model } })) as typeof base;
    expect(hardwareChanges(base, reordered)).toEqual([]);
  });
});
