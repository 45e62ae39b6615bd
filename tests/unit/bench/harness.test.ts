import { describe, expect, it } from 'vitest';
import { measureInterleaved, median, runSuite, withRatios } from '../../../bench/harness';
import { formatSuite } from '../../../bench/report';

describe('bench harness', () => {
  it('takes the median of odd and even sample counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('interleaves variants, rotating the order every round', async () => {
    const order: string[] = [];
    const variant = (label: string, value: number) => ({ label, measure: async () => (order.push(label), value) });
    const results = await measureInterleaved([variant('a', 1), variant('b', 2), { label: 'c', measure: async () => 0, skip: 'no libvirt' }], 2);
    expect(order).toEqual(['a', 'b', 'b', 'a']);
    expect(results.map((r) => [r.label, r.median, r.skipped])).toEqual([
      ['a', 1, undefined],
      ['b', 2, undefined],
      ['c', undefined, 'no libvirt'],
    ]);
  });

  it('reports ratios of medians to the reference', () => {
    const results = withRatios(
      [
        { label: 'raw', samples: [1, 2, 3], median: 2 },
        { label: 'virtdesk', samples: [2, 3, 4], median: 3 },
      ],
      'raw',
    );
    expect(results[1]?.ratioToReference).toBe(1.5);
  });

  it('turns a failing suite into a reported error and still disposes it', async () => {
    let disposed = false;
    const result = await runSuite(
      {
        id: 'x',
        title: 'X',
        unit: 'ms',
        better: 'lower',
        rounds: { full: 3, quick: 1 },
        setup: async () => ({
          variants: [{ label: 'broken', measure: async () => Promise.reject(new Error('boom')) }],
          dispose: async () => {
            disposed = true;
          },
        }),
      },
      { quick: true, log: () => {} },
    );
    expect(result.error).toBe('boom');
    expect(disposed).toBe(true);
    expect(formatSuite(result)).toContain('FAILED: boom');
  });

  it('records the load average and the verdict, and prints both', async () => {
    const result = await runSuite(
      {
        id: 'y',
        title: 'Y',
        unit: 'ms',
        better: 'lower',
        reference: 'raw',
        rounds: { full: 3, quick: 1 },
        setup: async () => ({
          variants: [
            { label: 'raw', measure: async () => 10 },
            { label: 'ours', measure: async () => 12 },
          ],
          dispose: async () => {},
        }),
        verdict: (variants) => `ours is ${variants[1]!.ratioToReference}× raw`,
      },
      { quick: true, log: () => {} },
    );
    expect(result.verdict).toBe('(quick run, not a measurement) ours is 1.2× raw');
    expect(result.load?.start).toHaveLength(3);
    expect(result.load?.cores).toBeGreaterThan(0);
    const text = formatSuite(result);
    expect(text).toMatch(/load average [\d.]+ [\d.]+ [\d.]+ at start/);
    expect(text).toContain('ours is 1.2× raw');
  });
});
