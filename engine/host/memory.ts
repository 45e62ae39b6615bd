import { hostFacts, type HostFacts } from './host-facts';

export type TransparentHugepages = 'always' | 'madvise' | 'never' | 'unavailable';

export interface HostResources {
  memory: { totalBytes: number; availableBytes: number };
  cpus: number;
  /** Kernel same-page merging: lets similar VMs share identical pages. */
  ksm: { available: boolean; running: boolean; pagesShared: number; pagesSharing: number };
  hugepages: {
    /** Reserved persistent hugepages (`HugePages_Total`/`HugePages_Free`). */
    total: number;
    free: number;
    pageSizeBytes: number;
    /** QEMU madvises guest RAM, so `madvise` and `always` both give VMs transparent hugepages. */
    transparent: TransparentHugepages;
  };
}

/** `/proc/meminfo` as bytes (values there are in KiB) or plain counts (the HugePages_* lines). */
export function parseMeminfo(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([\w()]+):\s+(\d+)(\s+kB)?/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]) * (match[3] ? 1024 : 1));
  }
  return values;
}

/** The bracketed choice in a sysfs setting such as `always [madvise] never`. */
export function selectedSysfsChoice(text: string | undefined): string | undefined {
  return text ? /\[([^\]]+)\]/.exec(text)?.[1] : undefined;
}

function countProcessors(cpuinfo: string | undefined): number {
  return cpuinfo ? cpuinfo.split('\n').filter((line) => /^processor\s*:/.test(line)).length : 0;
}

async function readNumber(facts: HostFacts, path: string): Promise<number | undefined> {
  const text = await facts.readText(path);
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}

export async function readHostResources(facts: HostFacts = hostFacts()): Promise<HostResources> {
  const meminfo = parseMeminfo((await facts.readText('/proc/meminfo')) ?? '');
  const ksmRun = await readNumber(facts, '/sys/kernel/mm/ksm/run');
  const thp = selectedSysfsChoice(await facts.readText('/sys/kernel/mm/transparent_hugepage/enabled'));
  return {
    memory: {
      totalBytes: meminfo.get('MemTotal') ?? 0,
      // Kernels before 3.14 have no MemAvailable; MemFree is the honest lower bound then.
      availableBytes: meminfo.get('MemAvailable') ?? meminfo.get('MemFree') ?? 0,
    },
    cpus: countProcessors(await facts.readText('/proc/cpuinfo')),
    ksm: {
      available: ksmRun !== undefined,
      running: ksmRun === 1,
      pagesShared: (await readNumber(facts, '/sys/kernel/mm/ksm/pages_shared')) ?? 0,
      pagesSharing: (await readNumber(facts, '/sys/kernel/mm/ksm/pages_sharing')) ?? 0,
    },
    hugepages: {
      total: meminfo.get('HugePages_Total') ?? 0,
      free: meminfo.get('HugePages_Free') ?? 0,
      pageSizeBytes: meminfo.get('Hugepagesize') ?? 0,
      transparent: thp === 'always' || thp === 'madvise' || thp === 'never' ? thp : 'unavailable',
    },
  };
}
