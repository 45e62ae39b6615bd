import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEventBus } from '../../../engine/api/events';
import type { VmStats } from '../../../engine/api/vm-api';
import type { VmStatsSample } from '../../../engine/vm/stats/collector';
import { STATS_BATCH_WINDOW_MS, StatsBatcher } from '../../../engine/vm/stats/batch';
import { publishVmEvents } from '../../../engine/vm/vm-service';

function sample(at: number, cpuPercent = 1): VmStatsSample {
  return { at, cpuPercent, rssBytes: 100 << 20, pssBytes: null, guestMemoryBytes: 192 << 20, blockReadBytes: 0, blockWriteBytes: 0, netRxBytes: null, netTxBytes: null };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('stats of all VMs as one event per tick', () => {
  it('passes every sample of a window on in one event, in arrival order, and starts a new window after', () => {
    vi.useFakeTimers();
    const batches: VmStats[][] = [];
    const batcher = new StatsBatcher((samples) => batches.push(samples), 100);
    const wire = (id: string, at: number) => ({ id, ...sample(at) });
    batcher.add(wire('a', 1));
    vi.advanceTimersByTime(40);
    batcher.add(wire('b', 2));
    batcher.add(wire('a', 3));
    expect(batches).toEqual([]);
    vi.advanceTimersByTime(60);
    expect(batches.map((batch) => batch.map((s) => `${s.id}@${s.at}`))).toEqual([['a@1', 'b@2', 'a@3']]);
    batcher.add(wire('c', 4));
    vi.advanceTimersByTime(99);
    expect(batches).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(batches.map((batch) => batch.map((s) => s.id))).toEqual([['a', 'b', 'a'], ['c']]);
    // Nothing waiting: no empty event.
    vi.advanceTimersByTime(1000);
    batcher.flush();
    expect(batches).toHaveLength(2);
  });

  it('turns the manager\'s per-VM samples into vms.stats events on the bus, 10 VMs in one', () => {
    vi.useFakeTimers();
    const bus = createEventBus<Record<string, unknown>>();
    const events: { samples: VmStats[] }[] = [];
    bus.on('vms.stats', (data) => events.push(data as { samples: VmStats[] }));
    const publish = publishVmEvents(bus);
    for (let i = 0; i < 10; i++) publish({ type: 'vm.stats', id: `vm-${i}`, stats: sample(2000 + i, i) });
    expect(events).toEqual([]);
    vi.advanceTimersByTime(STATS_BATCH_WINDOW_MS);
    expect(events).toHaveLength(1);
    expect(events[0]!.samples.map((s) => s.id)).toEqual(Array.from({ length: 10 }, (_, i) => `vm-${i}`));
    expect(events[0]!.samples[3]).toEqual({ id: 'vm-3', ...sample(2003, 3) });
    // Other events are not held back.
    const states: unknown[] = [];
    bus.on('vm.state', (data) => states.push(data));
    publish({ type: 'vm.state', id: 'vm-1', state: 'paused', stateReason: null });
    expect(states).toEqual([{ id: 'vm-1', state: 'paused', stateReason: null }]);
  });
});
