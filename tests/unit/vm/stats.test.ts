import { describe, expect, it } from 'vitest';
import type { QmpBlockStats } from '../../../engine/qemu/qmp';
import { tapNamesFromInfoNetwork } from '../../../engine/qemu/qmp';
import { sumBlockStats } from '../../../engine/vm/stats/collector';

function entry(read: number, write: number, ids: { qdev?: string; device?: string }): QmpBlockStats {
  const stats = { rd_bytes: read, wr_bytes: write } as QmpBlockStats['stats'];
  return { ...ids, stats };
}

describe('VM stats helpers', () => {
  it('sums block counters of guest devices only', () => {
    expect(sumBlockStats([entry(100, 10, { qdev: '/machine/peripheral/disk0/virtio-backend' }), entry(5, 0, { device: 'cd0' }), entry(999, 999, {})])).toEqual({ read: 105, write: 10 });
  });

  it('finds tap interfaces in HMP info network and ignores slirp', () => {
    const text = [
      'net0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56',
      ' \\ net0-backend: index=0,type=tap,ifname=vdt3f2a1,script=no,downscript=no',
      'net1: index=0,type=nic,model=e1000e,macaddr=52:54:00:12:34:57',
      ' \\ net1-backend: index=0,type=user,net=10.0.2.0,restrict=off',
    ].join('\r\n');
    expect(tapNamesFromInfoNetwork(text)).toEqual(['vdt3f2a1']);
    expect(tapNamesFromInfoNetwork(' \\ n0: index=0,type=user,net=10.0.2.0,restrict=off')).toEqual([]);
  });
});
