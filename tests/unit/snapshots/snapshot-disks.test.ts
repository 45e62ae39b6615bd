import { describe, expect, it } from 'vitest';
import { planSnapshotDisks } from '../../../engine/vm/ops/snapshots';
import { thrown, vm } from './helpers';

describe('which disks hold a snapshot', () => {
  it('takes every writable qcow2 disk and leaves read-only disks out, saying why', () => {
    const def = vm({ disks: [{ source: '/i/a.qcow2' }, { source: '/i/base.qcow2', readOnly: true }, { source: '/i/b.qcow2' }] });
    const plan = planSnapshotDisks(def);
    expect(plan.included.map((disk) => disk.id)).toEqual(['disk0', 'disk2']);
    expect(plan.skipped).toEqual([{ id: 'disk1', source: '/i/base.qcow2', why: 'read-only: the guest cannot change it' }]);
  });

  it('refuses a writable raw disk with the way out instead of skipping it', () => {
    const def = vm({ disks: [{ source: '/i/a.qcow2' }, { source: '/i/data.img', format: 'raw' }] });
    const error = thrown(() => planSnapshotDisks(def));
    expect(error.code).toBe('invalid-state');
    expect(error.message).toBe(
      'Cannot snapshot VM "vm": disk disk1 (/i/data.img) is a raw image, and raw images cannot hold snapshots (Virtdesk keeps snapshots inside qcow2 images).',
    );
    expect(error.hint).toMatch(/Convert it to qcow2 .* make it read-only, or detach it\./);
    expect(error.details).toEqual({ rawDisks: [{ id: 'disk1', source: '/i/data.img' }] });
  });

  it('is fine with a read-only raw disk', () => {
    expect(planSnapshotDisks(vm({ disks: [{ source: '/i/a.qcow2' }, { source: '/i/iso.img', format: 'raw', readOnly: true }] })).included).toHaveLength(1);
  });
});
