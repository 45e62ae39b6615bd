import type { QmpClient } from '../../qemu/qmp';

/**
 * Takes an internal (qcow2) disk-only snapshot named `tag` of every block node in `nodes`, all
 * at the same instant (one transaction: if one disk refuses, none is taken). No memory is saved.
 */
export async function takeInternalDiskSnapshots(qmp: QmpClient, nodes: readonly string[], tag: string): Promise<void> {
  await qmp.execute('transaction', {
    actions: nodes.map((device) => ({ type: 'blockdev-snapshot-internal-sync' as const, data: { device, name: tag } })),
  });
}

/** Removes the internal snapshot `tag` from one block node of a running VM. */
export async function deleteInternalDiskSnapshot(qmp: QmpClient, node: string, tag: string): Promise<void> {
  await qmp.execute('blockdev-snapshot-delete-internal-sync', { device: node, name: tag });
}

/** Tells a QEMU started with `-incoming defer` where its saved state is. */
export async function migrateIncoming(qmp: QmpClient, uri: string): Promise<void> {
  await qmp.execute('migrate-incoming', { uri });
}

/** The exact machine type QEMU runs (`pc-q35-7.2`), not the alias it was started with. */
export async function currentMachineType(qmp: QmpClient): Promise<string> {
  const type = await qmp.execute('qom-get', { path: '/machine', property: 'type' });
  if (typeof type !== 'string') throw new Error(`qom-get /machine type returned ${JSON.stringify(type)}`);
  return type.replace(/-machine$/, '');
}
