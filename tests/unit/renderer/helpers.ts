import type { VmSummary } from '../../../engine/api/vm-api';

/** A stopped VM summary as `vms.list` returns it, with `fields` changed. */
export function summary(name: string, fields: Partial<VmSummary> = {}): VmSummary {
  return {
    id: `id-${name}`,
    name,
    description: '',
    tags: [],
    osId: null,
    state: 'stopped',
    stateReason: null,
    vcpus: 1,
    memoryMiB: 512,
    autostart: false,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}
