import { afterEach, describe, expect, it } from 'vitest';
import { parseMeminfo, readHostResources, selectedSysfsChoice } from '../../../engine/host/memory';
import { cpuinfo, fakeHost, MEMINFO, removeFakeHosts } from './fake-host';

afterEach(removeFakeHosts);

describe('host resources', () => {
  it('reads memory, CPUs, KSM and hugepages', async () => {
    const facts = await fakeHost({
      '/proc/meminfo': MEMINFO,
      '/proc/cpuinfo': cpuinfo(['vmx'], 4),
      '/sys/kernel/mm/ksm/run': '1\n',
      '/sys/kernel/mm/ksm/pages_shared': '120\n',
      '/sys/kernel/mm/ksm/pages_sharing': '4000\n',
      '/sys/kernel/mm/transparent_hugepage/enabled': 'always [madvise] never\n',
    });
    expect(await readHostResources(facts)).toEqual({
      memory: { totalBytes: 25276510 * 1024, availableBytes: 23384576 * 1024 },
      cpus: 4,
      ksm: { available: true, running: true, pagesShared: 120, pagesSharing: 4000 },
      hugepages: { total: 4, free: 2, pageSizeBytes: 2 * 1024 * 1024, transparent: 'madvise' },
    });
  });

  it('copes with a kernel without KSM, THP or MemAvailable', async () => {
    const facts = await fakeHost({ '/proc/meminfo': 'MemTotal: 1000 kB\nMemFree: 500 kB\n', '/proc/cpuinfo': cpuinfo([], 1) });
    expect(await readHostResources(facts)).toEqual({
      memory: { totalBytes: 1024000, availableBytes: 512000 },
      cpus: 1,
      ksm: { available: false, running: false, pagesShared: 0, pagesSharing: 0 },
      hugepages: { total: 0, free: 0, pageSizeBytes: 0, transparent: 'unavailable' },
    });
  });

  it('parses meminfo units and sysfs choices', () => {
    expect(parseMeminfo('MemTotal:  10 kB\nHugePages_Total:   3\nbogus line\n')).toEqual(new Map([['MemTotal', 10240], ['HugePages_Total', 3]]));
    expect(selectedSysfsChoice('[always] madvise never')).toBe('always');
    expect(selectedSysfsChoice('always madvise [never]\n')).toBe('never');
    expect(selectedSysfsChoice(undefined)).toBeUndefined();
  });
});
