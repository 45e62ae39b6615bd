import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { auxvValue, clockTicksPerSecond, pageSize, parseKbField, parseProcStat, parseStatmResidentPages, ProcessSampler, readMemory } from '../../../engine/vm/stats/proc';

function auxv(entries: [number, number][]): Uint8Array {
  const buffer = Buffer.alloc((entries.length + 1) * 16);
  entries.forEach(([key, value], i) => {
    buffer.writeBigUInt64LE(BigInt(key), i * 16);
    buffer.writeBigUInt64LE(BigInt(value), i * 16 + 8);
  });
  return buffer;
}

describe('proc stats', () => {
  it('parses utime+stime and starttime even when comm holds spaces and parentheses', () => {
    const fields = ['S', '1', '2', '3', '0', '-1', '4194560', '10', '0', '0', '0', '250', '50', '0', '0', '20', '0', '3', '0', '987654'];
    const parsed = parseProcStat(`4242 (qemu (x) y) ${fields.join(' ')} 1000 200\n`);
    expect(parsed).toEqual({ cpuTicks: 300, startTicks: 987654 });
  });

  it('reads kB fields in bytes, and resident pages from statm', () => {
    expect(parseKbField('Name:\tqemu\nVmRSS:\t  20480 kB\n', 'VmRSS')).toBe(20480 * 1024);
    expect(parseKbField('Rss: 1 kB\nPss:   512 kB\n', 'Pss')).toBe(512 * 1024);
    expect(parseKbField('nothing', 'Pss')).toBeUndefined();
    expect(parseStatmResidentPages('1024 300 20 5 0 200 0\n')).toBe(300);
    expect(() => parseStatmResidentPages('')).toThrow(/statm/);
  });

  it('finds the clock tick and page size in the auxiliary vector, as sysconf does', () => {
    const vector = auxv([[33, 0x7fff0000], [6, 4096], [17, 100], [3, 0x400040]]);
    expect(auxvValue(vector, 17)).toBe(100);
    expect(auxvValue(vector, 6)).toBe(4096);
    expect(auxvValue(vector, 99)).toBeUndefined();
    // An AT_NULL entry ends the vector: nothing after it counts.
    expect(auxvValue(auxv([[6, 4096], [0, 0], [17, 250]]), 17)).toBeUndefined();
    // This machine: Linux's USER_HZ, and x86's pages.
    expect(clockTicksPerSecond()).toBe(100);
    expect(pageSize()).toBe(4096);
  });

  it('measures CPU % of a busy process and its resident memory as VmRSS counts it', async () => {
    const sampler = new ProcessSampler(process.pid);
    const first = sampler.sample();
    expect(first?.cpuPercent).toBeUndefined();
    const status = await readMemory(process.pid);
    expect(Math.abs(first!.rssBytes - status!.rssBytes)).toBeLessThan(4 * 1024 * 1024);
    expect(status!.pssBytes).toBeGreaterThan(0);
    const until = Date.now() + 400;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    const second = sampler.sample();
    expect(x).toBeGreaterThan(0);
    // One busy thread: well above idle, not above what a few threads could use.
    expect(second!.cpuPercent).toBeGreaterThan(15);
    expect(second!.cpuPercent).toBeLessThan(400);
    sampler.close();
    expect(sampler.sample()).toBeUndefined();
  });

  it('returns undefined for a process that does not exist, and once the sampled process is gone', async () => {
    expect(new ProcessSampler(2 ** 22 + 12345).sample()).toBeUndefined();
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const sampler = new ProcessSampler(child.pid!);
    expect(sampler.sample()?.rssBytes).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await exited;
    expect(sampler.sample()).toBeUndefined();
    sampler.close();
  });
});
