import type { Problem } from '../common/errors';

export type InstallSource = 'iso' | 'import' | 'url' | 'pxe' | 'kernel' | 'manual';
export type WizardStepId = 'source' | 'os' | 'storage' | 'finish';
/** Where a problem is shown: next to one of the wizard's fields, or in the summary. */
export type WizardField =
  | 'source'
  | 'isoPath'
  | 'importPath'
  | 'url'
  | 'kernel'
  | 'initrd'
  | 'cmdline'
  | 'osId'
  | 'memory'
  | 'vcpus'
  | 'storage'
  | 'name'
  | 'network'
  | 'general';

export const WIZARD_STEPS: readonly { id: WizardStepId; label: string; fields: readonly WizardField[] }[] = [
  { id: 'source', label: 'Install source', fields: ['source', 'isoPath', 'importPath', 'url', 'kernel', 'initrd', 'cmdline'] },
  { id: 'os', label: 'OS, memory and CPUs', fields: ['osId', 'memory', 'vcpus'] },
  { id: 'storage', label: 'Storage', fields: ['storage'] },
  { id: 'finish', label: 'Name, network and summary', fields: ['name', 'network', 'general'] },
];

export interface WizardProblem {
  field: WizardField;
  message: string;
  hint?: string;
}

/**
 * Maps a definition path (`memory.maximumMiB`, `disks[0].source`) onto the wizard field that
 * set it. Paths from the RPC's own check of the call start with the parameter, `input.`.
 */
export function wizardFieldOf(field: string | null, source: InstallSource): WizardField {
  if (field === null) return 'general';
  const path = field.startsWith('input.') ? field.slice('input.'.length) : field;
  const head = path.split(/[.[]/)[0] ?? '';
  switch (head) {
    case 'name':
      return 'name';
    case 'osId':
      return 'osId';
    case 'memory':
      return 'memory';
    case 'cpu':
      return 'vcpus';
    case 'cdroms':
      return source === 'iso' ? 'isoPath' : source === 'url' ? 'url' : 'general';
    case 'disks':
      return source === 'import' && path.startsWith('disks[0]') ? 'importPath' : 'storage';
    case 'directKernel':
      return path.includes('initrd') ? 'initrd' : path.includes('cmdline') ? 'cmdline' : 'kernel';
    case 'nics':
      return 'network';
    case 'boot':
      return 'source';
    default:
      return 'general';
  }
}

/** An engine problem, placed on the wizard field its path names. */
export function toWizardProblem(problem: Problem, source: InstallSource): WizardProblem {
  const field = wizardFieldOf(problem.field, source);
  return problem.hint ? { field, message: problem.message, hint: problem.hint } : { field, message: problem.message };
}
