import { join } from 'node:path';
import { vmDataDir } from './runtime-dir';

/** The definition in a VM's data folder (the VM store's document file). */
export function vmDefinitionFile(home: string, vmId: string): string {
  return join(vmDataDir(home, vmId), 'vm.json');
}

/** Present while the VM has a saved state (`virtdesk vm save`); written last, so it marks a complete one. */
export function savedStateRecordFile(home: string, vmId: string): string {
  return join(vmDataDir(home, vmId), 'saved', 'state.json');
}

/** Present while the VM is a template (read-only base of linked clones). */
export function templateMarkFile(home: string, vmId: string): string {
  return join(vmDataDir(home, vmId), 'template.json');
}
