import type { QmpClient } from '../../qemu/qmp';

/**
 * QMP commands snapshots, clones and save/restore need that engine/qemu/qmp's typed table does not
 * list yet. This is the one place that calls them. TODO(qmp owner): add `transaction` (with the
 * `blockdev-snapshot-internal-sync` action), `blockdev-snapshot-delete-internal-sync` and
 * `migrate-incoming` to engine/qemu/qmp/commands.ts; then these become plain typed calls.
 */
type UntypedExecute = (command: string, args?: Record<string, unknown>, options?: { timeoutMs?: number }) => Promise<unknown>;

function untyped(qmp: QmpClient): UntypedExecute {
  return qmp.execute.bind(qmp) as unknown as UntypedExecute;
}

/**
 * Takes an internal (qcow2) disk-only snapshot named `tag` of every block node in `nodes`, all
 * at the same instant (one transaction: if one disk refuses, none is taken). No memory is saved.
 */
export async function takeInternalDiskSnapshots(qmp: QmpClient, nodes: readonly string[], tag: string): Promise<void> {
  await untyped(qmp)('transaction', {
    actions: nodes.map((device) => ({ type: 'blockdev-snapshot-internal-sync', data: { device, name: tag } })),
  });
}

/** Removes the internal snapshot `tag` from one block node of a running VM. */
export async function deleteInternalDiskSnapshot(qmp: QmpClient, node: string, tag: string): Promise<void> {
  await untyped(qmp)('blockdev-snapshot-delete-internal-sync', { device: node, name: tag });
}

/** Tells a QEMU started with `-incoming defer` where its saved state is. */
export async function migrateIncoming(qmp: QmpClient, uri: string): Promise<void> {
  await untyped(qmp)('migrate-incoming', { uri });
}

/** The exact machine type QEMU runs (`pc-q35-7.2`), not the alias it was started with. */
export async function currentMachineType(qmp: QmpClient): Promise<string> {
  const type = await qmp.execute('qom-get', { path: '/machine', property: 'type' });
  if (typeof type !== 'string') throw new Error(`qom-get /machine type returned ${JSON.stringify(type)}`);
  return type.replace(/-machine$/, '');
}
