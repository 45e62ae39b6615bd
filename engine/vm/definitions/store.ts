import { join } from 'node:path';
import { combineErrors } from '../../model/errors';
import { CURRENT_SCHEMA_VERSION, migrateVmDocument, parseVmDefinition, validateVmDefinition, type VmDefinition } from '../../model';
import { createDocumentStore, type DocumentStore } from '../../store';

export type VmStore = DocumentStore<VmDefinition>;

/** `$VIRTDESK_HOME/vms`: one folder per VM holding vm.json, serial.log and qemu.log. */
export function vmStoreRoot(home: string): string {
  return join(home, 'vms');
}

/**
 * The VM definitions on disk. Inside the store's lock every write is checked against every other
 * definition for clashes the name check does not cover (MAC addresses, link ends).
 */
export function openVmStore(home: string): VmStore {
  return createDocumentStore<VmDefinition>({
    root: vmStoreRoot(home),
    kind: 'vm',
    label: 'VM',
    fileName: 'vm.json',
    parse: parseVmDefinition,
    migrate: (raw, fromVersion) => migrateVmDocument(raw, fromVersion),
    currentVersion: CURRENT_SCHEMA_VERSION,
    checkUnique: (candidate, others) => {
      const clashes = validateVmDefinition(candidate, { others }).filter((problem) => problem.code === 'already-exists');
      const error = combineErrors(clashes, { message: clashes.map((problem) => problem.message).join('; ') });
      if (error) throw error;
    },
  });
}
