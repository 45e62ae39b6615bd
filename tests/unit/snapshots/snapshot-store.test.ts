import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { snapshotTree } from '../../../engine/cli/snapshot-commands';
import { listSnapshots, type SnapshotInfo } from '../../../engine/vm/ops/snapshots';
import {
  findSnapshot,
  readCurrentSnapshotId,
  readSnapshotRecords,
  snapshotFolder,
  writeCurrentSnapshotId,
  writeSnapshotRecord,
  type SnapshotRecord,
} from '../../../engine/vm/ops/snapshots/snapshot-store';
import { thrown, vm } from './helpers';

let home: string;
const VM_ID = '00000000-0000-4000-8000-000000000001';

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vd-snapstore-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function record(id: string, name: string, parentId: string | null, createdAt: string): SnapshotRecord {
  return {
    version: 1,
    id,
    name,
    description: '',
    createdAt,
    parentId,
    kind: 'disk-only',
    vmState: 'stopped',
    tag: `vd-${id}`,
    disks: [{ id: 'disk0', source: '/i/a.qcow2' }],
    skipped: [],
    vmstateDisk: null,
    machineType: null,
    nvram: null,
    thumbnail: false,
    definition: vm() as unknown as Record<string, unknown>,
  };
}

const A = '10000000-0000-4000-8000-000000000001';
const B = '20000000-0000-4000-8000-000000000002';
const C = '30000000-0000-4000-8000-000000000003';

describe('snapshot records', () => {
  it('round-trips records oldest first, with the current one, and reports unreadable ones', async () => {
    await writeSnapshotRecord(home, VM_ID, record(B, 'second', A, '2025-01-02T00:00:00.000Z'));
    await writeSnapshotRecord(home, VM_ID, record(A, 'first', null, '2025-01-01T00:00:00.000Z'));
    await writeCurrentSnapshotId(home, VM_ID, B);
    await writeSnapshotRecord(home, VM_ID, record(C, 'broken', null, '2025-01-03T00:00:00.000Z'));
    await writeFile(join(snapshotFolder(home, VM_ID, C), 'snapshot.json'), '{"version": 1, "id": 3}');
    const { records, problems } = await readSnapshotRecords(home, VM_ID);
    expect(records.map((r) => r.name)).toEqual(['first', 'second']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('is not a valid snapshot record');
    expect(await readCurrentSnapshotId(home, VM_ID)).toBe(B);
    const { snapshots } = await listSnapshots({ home }, { id: VM_ID });
    expect(snapshots.map((s) => [s.name, s.current, s.definition?.name])).toEqual([
      ['first', false, 'vm'],
      ['second', true, 'vm'],
    ]);
  });

  it('finds by name or id, and not-found lists what there is', async () => {
    const records = [record(A, 'first', null, 'a'), record(B, 'second', A, 'b')];
    expect(findSnapshot(records, 'second', 'vm').id).toBe(B);
    expect(findSnapshot(records, A, 'vm').name).toBe('first');
    const error = thrown(() => findSnapshot(records, 'third', 'vm'));
    expect(error.code).toBe('not-found');
    expect(error.message).toBe('VM "vm" has no snapshot "third".');
    expect(error.hint).toBe('Its snapshots: "first", "second".');
    expect(thrown(() => findSnapshot([], 'x', 'vm')).hint).toContain('virtdesk snapshot create vm NAME');
  });

  it('a VM without snapshots has none, and no current one', async () => {
    expect(await readSnapshotRecords(home, VM_ID)).toEqual({ records: [], problems: [] });
    expect(await readCurrentSnapshotId(home, VM_ID)).toBeNull();
  });
});

describe('snapshot tree for the CLI', () => {
  it('puts children under their parent, and orphans (parent gone) at the top', () => {
    const info = (id: string, name: string, parentId: string | null) => ({ id, name, parentId }) as SnapshotInfo;
    const tree = snapshotTree([info(A, 'root', null), info(B, 'child', A), info(C, 'grandchild', B), info('d', 'orphan', 'gone'), info('e', 'second-child', A)]);
    expect(tree.map(({ snapshot, depth }) => `${depth}:${snapshot.name}`)).toEqual(['0:root', '1:child', '2:grandchild', '1:second-child', '0:orphan']);
  });
});
