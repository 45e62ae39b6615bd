import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../api/errors';
import { runtimeRoot, virtdeskHome } from '../paths';
import { decideAccelerator, type AccelDecision } from './accel';
import { loadQemuCapabilities } from './capabilities';
import { chooseCpuModel, type CpuModelChoice } from './cpu-model';
import { findQemu, findQemuImg, QEMU_INSTALL_HINT } from './find-qemu';
import { firmwareDescriptorDirs, OVMF_INSTALL_HINT, pickUefiFirmware, readFirmwareDescriptors, type FirmwareDescriptor } from './firmware';
import { hostFacts, type HostFacts } from './host-facts';
import { readHostResources, type HostResources } from './memory';
import type { QemuAccelerator, QemuCapabilities } from './probe';

import type { HostCheckResult } from './check-format';

export { formatHostCheck, type HostCheckResult, type HostCheckStatus } from './check-format';

/** Everything the checks read, injectable for tests. Defaults are the real host. */
export interface HostCheckDeps {
  facts?: HostFacts;
  env?: NodeJS.ProcessEnv;
  home?: string;
  findQemu?: (env: NodeJS.ProcessEnv) => Promise<string>;
  findQemuImg?: (env: NodeJS.ProcessEnv) => Promise<string>;
  loadCapabilities?: (binary: string) => Promise<QemuCapabilities>;
  chooseCpuModel?: (binary: string, accel: QemuAccelerator) => Promise<CpuModelChoice>;
  firmwareDirs?: readonly string[];
  bridgeHelperPaths?: readonly string[];
  euid?: number;
}

export const BRIDGE_HELPER_PATHS = ['/usr/lib/qemu/qemu-bridge-helper', '/usr/libexec/qemu-bridge-helper', '/usr/lib/qemu-bridge-helper'];
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
/** A VM's longest socket path: `<runtime root>/<uuid>/qmp-cmd.sock`; `sun_path` holds 107 bytes. */
const LONGEST_RUNTIME_SUFFIX = `/${'x'.repeat(36)}/qmp-cmd.sock`;

const pass = (id: string, title: string, detail: string): HostCheckResult => ({ id, title, status: 'PASS', detail });
const warn = (id: string, title: string, detail: string, fix?: string): HostCheckResult => ({ id, title, status: 'WARN', detail, ...(fix ? { fix } : {}) });
const fail = (id: string, title: string, detail: string, fix?: string): HostCheckResult => ({ id, title, status: 'FAIL', detail, ...(fix ? { fix } : {}) });

function describeError(error: unknown): { detail: string; fix?: string } {
  if (error instanceof EngineError) return { detail: error.message, ...(error.hint ? { fix: error.hint } : {}) };
  return { detail: error instanceof Error ? error.message : String(error) };
}

/** One line per check, in virt-host-validate's spirit: can this host run Virtdesk's VMs, and how well. */
export async function runHostChecks(deps: HostCheckDeps = {}): Promise<HostCheckResult[]> {
  const facts = deps.facts ?? hostFacts();
  const env = deps.env ?? process.env;
  const home = deps.home ?? virtdeskHome(env);
  const results: HostCheckResult[] = [];

  // QEMU itself.
  let binary: string | undefined;
  let caps: QemuCapabilities | undefined;
  const qemuTitle = 'Checking for the QEMU binary (qemu-system-x86_64)';
  try {
    binary = await (deps.findQemu ?? findQemu)(env);
    caps = await (deps.loadCapabilities ?? ((b: string) => loadQemuCapabilities({ binary: b, home, env })))(binary);
    results.push(pass('qemu-binary', qemuTitle, `${binary}, QEMU ${caps.version.text}`));
  } catch (error) {
    const { detail, fix } = describeError(error);
    results.push(fail('qemu-binary', qemuTitle, binary ? `${binary} could not be probed: ${detail}` : detail, fix ?? QEMU_INSTALL_HINT));
  }
  try {
    results.push(pass('qemu-img', 'Checking for qemu-img', await (deps.findQemuImg ?? findQemuImg)(env)));
  } catch (error) {
    const { detail, fix } = describeError(error);
    results.push(fail('qemu-img', 'Checking for qemu-img', detail, fix));
  }

  // KVM.
  const decision = await decideAccelerator('auto', { facts, ...(caps ? { qemuAccelerators: caps.accelerators } : {}) });
  results.push(...kvmChecks(decision));

  // CPU model.
  const cpuTitle = `Checking which CPU model starts under ${decision.accel.toUpperCase()}`;
  if (binary && caps) {
    try {
      const choose = deps.chooseCpuModel ?? ((b: string, accel: QemuAccelerator) => chooseCpuModel({ binary: b, accel, home }));
      const choice = await choose(binary, decision.accel);
      results.push(pass('cpu-model', cpuTitle, choice.reason));
    } catch (error) {
      const { detail, fix } = describeError(error);
      results.push(fail('cpu-model', cpuTitle, detail, fix));
    }
  } else {
    results.push(fail('cpu-model', cpuTitle, 'skipped: QEMU is not usable', QEMU_INSTALL_HINT));
  }

  results.push(await firmwareCheck(facts, deps.firmwareDirs ?? firmwareDescriptorDirs(env)));
  const resources = await readHostResources(facts);
  results.push(ksmCheck(resources), hugepagesCheck(resources), memoryCheck(resources));
  results.push(await runtimeDirCheck(home, env));
  results.push(await bridgeHelperCheck(facts, deps.bridgeHelperPaths ?? BRIDGE_HELPER_PATHS, deps.euid ?? process.geteuid?.() ?? -1));
  results.push(await bridgeConfCheck(facts));
  return results;
}

function kvmChecks(decision: AccelDecision): HostCheckResult[] {
  const { kvm } = decision;
  const out: HostCheckResult[] = [];
  const slow = 'guests run under TCG, much slower';
  out.push(
    kvm.device === 'missing'
      ? warn('kvm-device', 'Checking if device /dev/kvm exists', `no: ${slow}`, kvm.fix)
      : pass('kvm-device', 'Checking if device /dev/kvm exists', 'yes'),
  );
  out.push(
    kvm.device === 'ok'
      ? pass('kvm-access', 'Checking if device /dev/kvm is accessible', 'read-write')
      : warn(
          'kvm-access',
          'Checking if device /dev/kvm is accessible',
          kvm.device === 'missing' ? 'no /dev/kvm' : `no read-write access: ${slow}`,
          kvm.device === 'denied' ? 'Add yourself to the kvm group: `sudo usermod -aG kvm $USER`, then log in again.' : undefined,
        ),
  );
  const hwTitle = 'Checking for hardware virtualization';
  if (kvm.module === 'kvm_pvm') {
    out.push(warn('hardware-virt', hwTitle, `kvm_pvm is a paravirtual KVM without VT-x/AMD-V: ${slow}`, kvm.fix));
  } else if ((kvm.module === 'kvm_intel' || kvm.module === 'kvm_amd') && kvm.cpuFlags.length > 0) {
    out.push(pass('hardware-virt', hwTitle, `${kvm.module}, CPU flag ${kvm.cpuFlags.join('/')}`));
  } else {
    const have = kvm.cpuFlags.length > 0 ? `CPU flag ${kvm.cpuFlags.join('/')} but no kvm_intel/kvm_amd module` : 'the CPU advertises no vmx/svm';
    out.push(warn('hardware-virt', hwTitle, `${have}: ${slow}`, kvm.fix));
  }
  out.push(
    kvm.usable
      ? pass('kvm-usable', 'Checking if KVM can run ordinary guests', `yes: accelerator "auto" uses KVM`)
      : warn('kvm-usable', 'Checking if KVM can run ordinary guests', `no, ${kvm.whyNot}; accelerator "auto" uses TCG`, kvm.fix),
  );
  return out;
}

async function firmwareCheck(facts: HostFacts, dirs: readonly string[]): Promise<HostCheckResult> {
  const title = 'Checking for UEFI firmware (OVMF)';
  const { descriptors } = await readFirmwareDescriptors(facts, dirs);
  const present: FirmwareDescriptor[] = [];
  for (const d of descriptors) {
    if ((await facts.exists(d.executable.filename)) && (!d.nvramTemplate || (await facts.exists(d.nvramTemplate.filename)))) present.push(d);
  }
  const plain = pickUefiFirmware(present, { machine: 'q35', secureBoot: false });
  const secure = pickUefiFirmware(present, { machine: 'q35', secureBoot: true });
  if (!plain && !secure) {
    const why = descriptors.length === 0 ? 'no firmware descriptors in /usr/share/qemu/firmware' : 'the descriptors name files that are missing';
    return warn('uefi-firmware', title, `none (${why}): only BIOS guests can run`, OVMF_INSTALL_HINT);
  }
  const parts = [plain ? plain.code : 'no plain UEFI build', secure ? `Secure Boot: ${secure.code}${secure.enrolledKeys ? ' (keys enrolled)' : ''}` : 'no Secure Boot build'];
  return pass('uefi-firmware', title, parts.join('; '));
}

function ksmCheck(resources: HostResources): HostCheckResult {
  const title = 'Checking for KSM (memory sharing between VMs)';
  const { ksm } = resources;
  if (!ksm.available) return warn('ksm', title, 'this kernel has no KSM: similar VMs cannot share identical memory pages');
  if (ksm.running) return pass('ksm', title, `running, ${ksm.pagesSharing} pages shared`);
  return pass('ksm', title, 'available, not running; optional: `echo 1 | sudo tee /sys/kernel/mm/ksm/run` saves memory with many similar VMs');
}

function hugepagesCheck(resources: HostResources): HostCheckResult {
  const title = 'Checking for hugepages';
  const { hugepages } = resources;
  const reserved = `${hugepages.total} reserved × ${hugepages.pageSizeBytes / MIB} MiB (${hugepages.free} free)`;
  if (hugepages.transparent === 'never' || hugepages.transparent === 'unavailable') {
    return warn(
      'hugepages',
      title,
      `transparent hugepages ${hugepages.transparent === 'never' ? 'off' : 'unavailable'}, ${reserved}: guest memory uses 4 KiB pages (slower)`,
      hugepages.transparent === 'never' ? 'Turn them on: `echo madvise | sudo tee /sys/kernel/mm/transparent_hugepage/enabled`.' : undefined,
    );
  }
  return pass('hugepages', title, `transparent hugepages: ${hugepages.transparent}; ${reserved}`);
}

function memoryCheck(resources: HostResources): HostCheckResult {
  const title = 'Checking for enough free memory';
  const { availableBytes, totalBytes } = resources.memory;
  const detail = `${(availableBytes / GIB).toFixed(1)} GiB available of ${(totalBytes / GIB).toFixed(1)} GiB, ${resources.cpus} CPUs`;
  if (availableBytes >= GIB) return pass('memory', title, detail);
  const fix = 'Close other programs or VMs, or give VMs less memory.';
  if (availableBytes >= 256 * MIB) return warn('memory', title, `${detail}: only small VMs fit`, fix);
  return fail('memory', title, `${detail}: not enough for a VM`, fix);
}

async function runtimeDirCheck(home: string, env: NodeJS.ProcessEnv): Promise<HostCheckResult> {
  const root = runtimeRoot(home, env);
  const title = 'Checking if the runtime folder is writable';
  try {
    await mkdir(root, { recursive: true, mode: 0o700 });
    const probe = join(root, `.write-test-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
    await access(root, constants.W_OK | constants.X_OK);
  } catch (error) {
    return fail('runtime-dir', title, `${root}: ${(error as Error).message}`, 'Set XDG_RUNTIME_DIR (or VIRTDESK_RUNTIME_DIR) to a folder you own, or fix the permissions of that folder.');
  }
  const longest = Buffer.byteLength(`${root}${LONGEST_RUNTIME_SUFFIX}`);
  if (longest > 107) {
    return warn('runtime-dir', title, `${root} is writable, but socket paths under it reach ${longest} bytes (limit 107)`, 'Set VIRTDESK_RUNTIME_DIR to a shorter path.');
  }
  return pass('runtime-dir', title, root);
}

async function bridgeHelperCheck(facts: HostFacts, paths: readonly string[], euid: number): Promise<HostCheckResult> {
  const title = 'Checking if qemu-bridge-helper is set-uid root';
  for (const path of paths) {
    const stats = await facts.stat(path);
    if (!stats) continue;
    if (stats.uid === 0 && (stats.mode & 0o4000) !== 0) return pass('bridge-helper', title, `${path} is set-uid root`);
    const asRoot = euid === 0 ? ' (not needed while Virtdesk runs as root)' : '';
    return warn('bridge-helper', title, `${path} is not set-uid root: VMs started by a normal user cannot join host bridges${asRoot}`, `sudo chmod u+s ${path}`);
  }
  return warn('bridge-helper', title, 'qemu-bridge-helper is not installed: VMs cannot join host bridges', 'Install it with QEMU (`sudo apt install qemu-system-x86`).');
}

async function bridgeConfCheck(facts: HostFacts): Promise<HostCheckResult> {
  const title = 'Checking for /etc/qemu/bridge.conf';
  const text = await facts.readText('/etc/qemu/bridge.conf');
  const fix = 'Allow the bridges VMs may join, e.g. `sudo mkdir -p /etc/qemu && echo "allow br0" | sudo tee -a /etc/qemu/bridge.conf`.';
  if (text === undefined) {
    return warn('bridge-conf', title, (await facts.exists('/etc/qemu/bridge.conf')) ? 'exists but cannot be read' : 'missing: qemu-bridge-helper allows no bridge', fix);
  }
  const allowed = text
    .split('\n')
    .map((line) => /^\s*allow\s+(\S+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
  if (allowed.length === 0) return warn('bridge-conf', title, 'allows no bridge', fix);
  return pass('bridge-conf', title, `allows ${allowed.join(', ')}`);
}
