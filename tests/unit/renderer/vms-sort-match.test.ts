import { describe, expect, it } from 'vitest';
import { vmMatcher } from '../../../renderer/src/lib/state/vms-match';
import { compareNames, sortVms } from '../../../renderer/src/lib/state/vms-sort';
import { summary } from './helpers';

describe('sortVms', () => {
  const vms = [
    summary('vm-10', { state: 'running', osId: 'fedora40' }),
    summary('VM-9', { state: 'stopped', osId: 'debian12' }),
    summary('alpha', { state: 'crashed' }),
    summary('beta', { state: 'running', osId: 'debian12' }),
  ];
  const names = (order: Parameters<typeof sortVms>[1]) => sortVms(vms, order).map((vm) => vm.name);

  it('sorts names as people do: numbers by value, case ignored first', () => {
    expect(names({ key: 'name', descending: false })).toEqual(['alpha', 'beta', 'VM-9', 'vm-10']);
    expect(names({ key: 'name', descending: true })).toEqual(['vm-10', 'VM-9', 'beta', 'alpha']);
    expect(compareNames('vm-2', 'vm-10')).toBeLessThan(0);
  });

  it('sorts by state, live ones first, ties by name', () => {
    expect(names({ key: 'state', descending: false })).toEqual(['beta', 'vm-10', 'alpha', 'VM-9']);
    expect(names({ key: 'state', descending: true })).toEqual(['VM-9', 'alpha', 'beta', 'vm-10']);
  });

  it('sorts by OS, VMs without one first when ascending, ties by name', () => {
    expect(names({ key: 'os', descending: false })).toEqual(['alpha', 'beta', 'VM-9', 'vm-10']);
  });

  it('returns a copy', () => {
    const copy = sortVms(vms, { key: 'name', descending: false });
    expect(copy).not.toBe(vms);
    expect(vms[0]!.name).toBe('vm-10');
  });
});

describe('vmMatcher', () => {
  const vms = [
    summary('web-1', { description: 'front end', tags: ['Lab', 'web'], osId: 'debian12', state: 'running' }),
    summary('db-1', { tags: ['lab'], osId: 'fedora40', state: 'crashed', stateReason: 'QEMU exited with signal 9' }),
    summary('plain'),
  ];
  const shown = (filter: Partial<Parameters<typeof vmMatcher>[0]>) => vms.filter(vmMatcher({ text: '', state: 'all', os: '', tag: '', ...filter })).map((vm) => vm.name);

  it('shows everything without filters', () => {
    expect(shown({})).toEqual(['web-1', 'db-1', 'plain']);
  });
  it('needs every search word somewhere in name, description, tags, OS, state or reason, ignoring case', () => {
    expect(shown({ text: 'FRONT' })).toEqual(['web-1']);
    expect(shown({ text: 'lab debian' })).toEqual(['web-1']);
    expect(shown({ text: 'signal' })).toEqual(['db-1']);
    expect(shown({ text: '  stopped  ' })).toEqual(['plain']);
    expect(shown({ text: 'lab nothing' })).toEqual([]);
  });
  it('filters by state, with active meaning not stopped or crashed', () => {
    expect(shown({ state: 'active' })).toEqual(['web-1']);
    expect(shown({ state: 'crashed' })).toEqual(['db-1']);
  });
  it('filters by OS, and by no OS', () => {
    expect(shown({ os: 'fedora40' })).toEqual(['db-1']);
    expect(shown({ os: '-' })).toEqual(['plain']);
  });
  it('filters by tag ignoring case', () => {
    expect(shown({ tag: 'LAB' })).toEqual(['web-1', 'db-1']);
  });
  it('sees a changed VM (a new summary object), not a stale cached text', () => {
    const before = summary('x', { description: 'old' });
    const match = vmMatcher({ text: 'new', state: 'all', os: '', tag: '' });
    expect(match(before)).toBe(false);
    expect(match({ ...before, description: 'new' })).toBe(true);
  });
});
