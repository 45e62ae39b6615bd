import { EngineError } from '../api/errors';
import { cpuFlags, hostFacts, type HostFacts } from './host-facts';
import type { QemuAccelerator } from './probe';

export type KvmModule = 'kvm_intel' | 'kvm_amd' | 'kvm_pvm' | 'none';

export interface KvmStatus {
  /** `/dev/kvm`: there and read-write for us, there but not ours, or absent. */
  device: 'ok' | 'denied' | 'missing';
  /** Which KVM vendor module is loaded. `kvm_pvm` is paravirtual and cannot boot ordinary guests. */
  module: KvmModule;
  /** Hardware virtualization flags the CPU advertises. */
  cpuFlags: ('vmx' | 'svm')[];
  /** KVM can run ordinary guests here. */
  usable: boolean;
  /** Why not, in words a person can act on. */
  whyNot?: string;
  /** What to do about it, when anything can be done. */
  fix?: string;
}

export interface AccelDecision {
  accel: QemuAccelerator;
  reason: string;
  kvm: KvmStatus;
}

export type AccelRequest = 'auto' | 'kvm' | 'tcg';

const KVM_GROUP_FIX = 'Add yourself to the kvm group (`sudo usermod -aG kvm $USER`, then log in again), or ask your distribution to make /dev/kvm group kvm, mode 0660.';

async function loadedKvmModule(facts: HostFacts): Promise<KvmModule> {
  // A PVM host may load it beside a hardware module; /dev/kvm then belongs to whichever won,
  // which we cannot tell from sysfs. Treat PVM as present first, so we never hang a guest on it.
  if (await facts.exists('/sys/module/kvm_pvm')) return 'kvm_pvm';
  if (await facts.exists('/sys/module/kvm_intel')) return 'kvm_intel';
  if (await facts.exists('/sys/module/kvm_amd')) return 'kvm_amd';
  return 'none';
}

/** What the host's KVM can do, from /dev, /sys and /proc (and whether QEMU was built with KVM). */
export async function probeKvm(facts: HostFacts = hostFacts(), qemuAccelerators?: readonly QemuAccelerator[]): Promise<KvmStatus> {
  const device = await facts.readWriteAccess('/dev/kvm');
  const module = await loadedKvmModule(facts);
  const flags = cpuFlags(await facts.readText('/proc/cpuinfo'));
  const hardwareFlags = (['vmx', 'svm'] as const).filter((flag) => flags.has(flag));
  const status: KvmStatus = { device, module, cpuFlags: hardwareFlags, usable: false };

  const no = (whyNot: string, fix?: string): KvmStatus => ({ ...status, whyNot, ...(fix ? { fix } : {}) });
  if (qemuAccelerators && !qemuAccelerators.includes('kvm')) {
    return no('this QEMU binary was built without KVM support', 'Install a QEMU build with KVM (Debian: qemu-system-x86).');
  }
  if (module === 'kvm_pvm') {
    return no(
      'the host KVM is kvm_pvm, a paravirtual KVM without hardware virtualization: it cannot boot ordinary guest kernels',
      'Run on a host (or a VM with nested virtualization) whose CPU exposes VT-x or AMD-V, with kvm_intel or kvm_amd loaded.',
    );
  }
  if (device === 'missing') {
    return no(
      hardwareFlags.length > 0 ? '/dev/kvm does not exist (the kvm_intel or kvm_amd module is not loaded)' : '/dev/kvm does not exist and the CPU advertises no hardware virtualization (vmx/svm)',
      hardwareFlags.length > 0
        ? `Load the module: \`sudo modprobe ${hardwareFlags[0] === 'svm' ? 'kvm_amd' : 'kvm_intel'}\`.`
        : 'Enable virtualization (VT-x/AMD-V) in the firmware setup, or nested virtualization if this is itself a VM.',
    );
  }
  if (module === 'none') {
    return no('no hardware KVM module (kvm_intel or kvm_amd) is loaded', 'Load it with `sudo modprobe kvm_intel` or `sudo modprobe kvm_amd`.');
  }
  if (hardwareFlags.length === 0) {
    return no('the CPU advertises no hardware virtualization (vmx/svm)', 'Enable VT-x/AMD-V in the firmware setup, or nested virtualization if this is itself a VM.');
  }
  if (device === 'denied') {
    return no('this user cannot open /dev/kvm read-write', KVM_GROUP_FIX);
  }
  return { ...status, usable: true };
}

/**
 * Decides the accelerator honestly: `auto` gives KVM only where it can run ordinary guests, else
 * TCG with the reason. An explicit `kvm` where it cannot is an error naming why.
 */
export async function decideAccelerator(
  request: AccelRequest,
  options: { facts?: HostFacts; qemuAccelerators?: readonly QemuAccelerator[] } = {},
): Promise<AccelDecision> {
  const kvm = await probeKvm(options.facts ?? hostFacts(), options.qemuAccelerators);
  if (request === 'tcg') return { accel: 'tcg', reason: 'TCG (software emulation) was requested', kvm };
  if (kvm.usable) {
    return { accel: 'kvm', reason: request === 'kvm' ? 'KVM was requested and works here' : `KVM works here (${kvm.module}, /dev/kvm read-write)`, kvm };
  }
  if (request === 'kvm') {
    throw new EngineError(kvm.device === 'denied' ? 'permission-denied' : 'unavailable', `KVM cannot be used on this host: ${kvm.whyNot}`, {
      hint: `${kvm.fix ? `${kvm.fix} ` : ''}Or choose accelerator "auto" or "tcg" to run under TCG (software emulation, much slower).`,
      details: { kvm },
    });
  }
  return { accel: 'tcg', reason: `TCG (software emulation, much slower) because ${kvm.whyNot}`, kvm };
}
