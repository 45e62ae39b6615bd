import { describe, expect, it } from 'vitest';
import { clockTicksPerSecond, parseKbField, parseProcStat, ProcessSampler } from '../../../engine/vm/proc-stats';

describe('proc stats', () => {
  it('parses utime+stime and starttime even when comm holds spaces and parentheses', () => {
    const fields = ['S', '1', '2', '3', '0', '-1', '4194560', '10', '0', '0', '0', '250', '50', '0', '0', '20', '0', '3', '0', '987654'];
    const parsed = parseProcStat(`4242 (qemu (x) y) ${fields.join(' ')} 1000 200\n`);
    expect(parsed).toEqual({ cpuTicks: 300, startTicks: 987654 });
  });

  it('reads kB fields in bytes', () => {
    expect(parseKbField('Name:\tqemu\nVmRSS:\t  20480 kB\n', 'VmRSS')).toBe(20480 * 1024);
    expect(parseKbField('Rss: 1 kB\nPss:   512 kB\n', 'Pss')).toBe(512 * 1024);
    expect(parseKbField('nothing', 'Pss')).toBeUndefined();
  });

  it('measures CPU % of a busy process and its memory', async () => {
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
    const sampler = new ProcessSampler(process.pid);
    const first = await sampler.sample();
    expect(first?.cpuPercent).toBeUndefined();
    expect(first!.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(first!.pssBytes).toBeGreaterThan(0);
    const until = Date.now() + 400;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    const second = await sampler.sample();
    expect(x).toBeGreaterThan(0);
    // One busy thread: well above idle, not above what a few threads could use.
    expect(second!.cpuPercent).toBeGreaterThan(15);
    expect(second!.cpuPercent).toBeLessThan(400);
  });

  it('returns undefined for a process that does not exist', async () => {
    expect(await new ProcessSampler(2 ** 22 + 12345).sample()).toBeUndefined();
  });
});
