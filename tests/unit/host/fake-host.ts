import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hostFacts, type HostFacts } from '../../../engine/host/host-facts';

/** A fake host: files under a temp root; a value of null makes a folder. */
export type FakeTree = Record<string, string | null>;

const roots: string[] = [];

export async function fakeHost(tree: FakeTree, overrides: Partial<HostFacts> = {}): Promise<HostFacts> {
  const root = await mkdtemp(join(tmpdir(), 'vd-fakehost-'));
  roots.push(root);
  for (const [path, content] of Object.entries(tree)) {
    const full = join(root, path);
    if (content === null) {
      await mkdir(full, { recursive: true });
    } else {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content);
    }
  }
  return { ...hostFacts(root), ...overrides };
}

export async function removeFakeHosts(): Promise<void> {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
}

export const cpuinfo = (flags: string[], count = 2) =>
  Array.from({ length: count }, (_, n) => `processor\t: ${n}\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\nflags\t\t: fpu vme de pse ${flags.join(' ')} sse2\n`).join('\n');

export const MEMINFO = `MemTotal:       25276510 kB
MemFree:        20000000 kB
MemAvailable:   23384576 kB
HugePages_Total:       4
HugePages_Free:        2
HugePages_Rsvd:        0
Hugepagesize:       2048 kB
`;

/** The kinds of host the accelerator logic must tell apart. */
export const HOSTS = {
  intel: { '/dev/kvm': '', '/sys/module/kvm': null, '/sys/module/kvm_intel': null, '/proc/cpuinfo': cpuinfo(['vmx']) },
  amd: { '/dev/kvm': '', '/sys/module/kvm': null, '/sys/module/kvm_amd': null, '/proc/cpuinfo': cpuinfo(['svm']) },
  /** This project's machines: /dev/kvm answers, but the module is paravirtual and the CPU shows no vmx/svm. */
  pvm: { '/dev/kvm': '', '/sys/module/kvm': null, '/sys/module/kvm_pvm': null, '/proc/cpuinfo': cpuinfo(['hypervisor']) },
  noKvm: { '/proc/cpuinfo': cpuinfo(['hypervisor']) },
  vmxNoModule: { '/proc/cpuinfo': cpuinfo(['vmx']) },
  moduleNoDevice: { '/sys/module/kvm': null, '/sys/module/kvm_intel': null, '/proc/cpuinfo': cpuinfo(['vmx']) },
  intelNoFlag: { '/dev/kvm': '', '/sys/module/kvm': null, '/sys/module/kvm_intel': null, '/proc/cpuinfo': cpuinfo([]) },
} satisfies Record<string, FakeTree>;
