import { describe, expect, it } from 'vitest';
import type { VmManager } from '../../../engine/vm/manager';
import { applyQuitPreference } from '../../../engine/vm/ops/save-restore';
import type { VmState } from '../../../engine/vm/states';

function fakeManager(vms: { id: string; name: string; state: VmState }[], fail: Set<string> = new Set(), stubborn: Set<string> = new Set()) {
  const calls: string[] = [];
  let active = 0;
  let maxActive = 0;
  const act = async (what: string, id: string) => {
    active += 1;
    maxActive = Math.max(maxActive, active);
    calls.push(`${what} ${id}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    active -= 1;
    if (fail.has(id)) throw new Error(`disk full for ${id}`);
  };
  const manager = {
    list: async () => vms,
    save: (id: string) => act('save', id),
    stop: async (id: string, options: { waitMs?: number; forceAfterMs?: number; force?: boolean }) => {
      await act(`stop(${options.waitMs ?? 'default'}${options.force || options.forceAfterMs !== undefined ? ', forced' : ''})`, id);
      return { stopped: !stubborn.has(id), forced: false };
    },
  } as unknown as VmManager;
  return { manager, calls, maxActive: () => maxActive };
}

const VMS: { id: string; name: string; state: VmState }[] = [
  { id: 'a', name: 'alpha', state: 'running' },
  { id: 'b', name: 'beta', state: 'stopped' },
  { id: 'c', name: 'gamma', state: 'paused' },
  { id: 'd', name: 'delta', state: 'running' },
  { id: 'e', name: 'eps', state: 'crashed' },
];

describe('applyQuitPreference', () => {
  it('keep-running touches nothing', async () => {
    const { manager, calls } = fakeManager(VMS);
    expect(await applyQuitPreference(manager, 'keep-running')).toEqual({ saved: [], shutDown: [], failed: [] });
    expect(calls).toEqual([]);
  });

  it('saves the running and paused VMs, two at a time, and reports one that fails (it keeps running)', async () => {
    const { manager, calls, maxActive } = fakeManager(VMS, new Set(['c']));
    const outcome = await applyQuitPreference(manager, 'save');
    expect(calls.sort()).toEqual(['save a', 'save c', 'save d']);
    expect(outcome.saved.sort()).toEqual(['alpha', 'delta']);
    expect(outcome.failed).toEqual([{ name: 'gamma', message: 'disk full for c' }]);
    expect(maxActive()).toBe(2);
  });

  it('shuts the running VMs down, waiting the given time, never forcing; a guest still running is reported', async () => {
    const { manager, calls } = fakeManager(VMS, new Set(), new Set(['d']));
    const outcome = await applyQuitPreference(manager, 'shut-down', { stopTimeoutMs: 30_000 });
    expect(calls.sort()).toEqual(['stop(30000) a', 'stop(30000) c', 'stop(30000) d']);
    expect(outcome.shutDown.sort()).toEqual(['alpha', 'gamma']);
    expect(outcome.failed).toEqual([{ name: 'delta', message: expect.stringContaining('did not shut down within 30 s; it keeps running') }]);
  });
});
