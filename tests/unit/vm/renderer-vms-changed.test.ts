import { describe, expect, it } from 'vitest';
import { applyVmChanges } from '../../../renderer/src/lib/state/vms-changes';
import { summary } from '../renderer/helpers';

const list = [summary('alpha'), summary('beta', { description: 'old' }), summary('gamma')];

describe('the VM list taking a vms.changed event', () => {
  it('replaces an edited VM in place, keeping the order and the other rows as they were', () => {
    const edited = summary('beta', { description: 'new' });
    const next = applyVmChanges(list, [edited.id], [edited])!;
    expect(next.map((vm) => vm.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect(next[1]).toBe(edited);
    expect(next[0]).toBe(list[0]);
    expect(list[1]!.description).toBe('old');
  });

  it('drops a VM the event names without an entry (deleted, or its file stopped loading)', () => {
    expect(applyVmChanges(list, ['id-gamma'], [])!.map((vm) => vm.name)).toEqual(['alpha', 'beta']);
  });

  it('asks for a reload for a new VM, a renamed one, or an event without entries', () => {
    expect(applyVmChanges(list, ['id-delta'], [summary('delta')])).toBeUndefined();
    expect(applyVmChanges(list, ['id-beta'], [{ ...summary('beta'), name: 'aaa' }])).toBeUndefined();
    expect(applyVmChanges(list, ['id-beta'], undefined)).toBeUndefined();
  });

  it('takes several changes at once', () => {
    const next = applyVmChanges(list, ['id-alpha', 'id-gamma'], [summary('gamma', { state: 'running' })])!;
    expect(next.map((vm) => [vm.name, vm.state])).toEqual([
      ['beta', 'stopped'],
      ['gamma', 'running'],
    ]);
  });
});
