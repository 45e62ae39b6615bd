import { combineErrors, EngineError, type ErrorCode } from './errors';
import { cidrContains, formatIpv4, parseCidr, tryParseIpv4 } from './net/ipv4';
import { forwardsClash } from './net/port-forward-spec';
import { MAX_VCPUS, CPU_MODEL_HOST_PASSTHROUGH, maxVcpus } from './cpu';
import type { VmDefinition } from './definition';

/** What the host can give one VM (from engine/host). */
export interface HostLimits {
  maxMemoryMiB: number;
  maxVcpus: number;
}

export interface VmValidationContext {
  /** Every other stored definition (this one excluded or included; it is skipped by id). */
  others?: readonly VmDefinition[];
  host?: HostLimits;
}

/** slirp's plan when a user network sets no subnet. */
const SLIRP_DEFAULT_SUBNET = '10.0.2.0/24';
const MAX_IDE_DEVICES = 4;
const MAX_SATA_DEVICES = 6;

function problem(code: ErrorCode, field: string, message: string, hint?: string): EngineError {
  return new EngineError(code, message, { ...(hint === undefined ? {} : { hint }), field });
}

/**
 * Every problem with a definition that the schema alone cannot see (rules across fields, across
 * definitions, and against the host), each as an EngineError with a problem naming its field. Empty when
 * the definition is fine.
 */
export function validateVmDefinition(def: VmDefinition, context: VmValidationContext = {}): EngineError[] {
  const others = (context.others ?? []).filter((other) => other.id !== def.id);
  return [
    ...identityProblems(def, others),
    ...resourceProblems(def, context.host),
    ...platformProblems(def),
    ...storageProblems(def),
    ...bootProblems(def),
    ...nicProblems(def, others),
  ];
}

/** Throws one EngineError listing every problem (its `problems` has each one). */
export function assertValidVmDefinition(def: VmDefinition, context: VmValidationContext = {}): void {
  const problems = validateVmDefinition(def, context);
  const error = combineErrors(problems, { message: `The VM definition "${def.name}" has ${problems.length} problems: ${problems.map((p) => p.message).join('; ')}` });
  if (error) throw error;
}

function identityProblems(def: VmDefinition, others: readonly VmDefinition[]): EngineError[] {
  const problems: EngineError[] = [];
  const sameName = others.find((other) => other.name === def.name);
  if (sameName) {
    problems.push(problem('already-exists', 'name', `A VM named "${def.name}" already exists (id ${sameName.id})`, 'Choose another name, or rename or delete the existing VM.'));
  }
  if (others.some((other) => other.id === def.id)) {
    problems.push(problem('already-exists', 'id', `Another VM already has the id ${def.id}`, 'Leave the id out to get a fresh one.'));
  }
  const ids = new Map<string, string>();
  for (const [kind, devices] of [
    ['disks', def.disks],
    ['cdroms', def.cdroms],
    ['nics', def.nics],
  ] as const) {
    devices.forEach((device, index) => {
      const field = `${kind}[${index}].id`;
      const previous = ids.get(device.id);
      if (previous !== undefined) {
        problems.push(problem('invalid-argument', field, `Device id "${device.id}" is used twice (${previous} and ${field})`, 'Give every disk, CD-ROM and NIC its own id, or leave ids out.'));
      } else ids.set(device.id, field);
    });
  }
  return problems;
}

function resourceProblems(def: VmDefinition, host: HostLimits | undefined): EngineError[] {
  const problems: EngineError[] = [];
  const { memory, cpu } = def;
  if (memory.currentMiB > memory.maximumMiB) {
    problems.push(
      problem('invalid-argument', 'memory.currentMiB', `Current memory (${memory.currentMiB} MiB) is more than the maximum (${memory.maximumMiB} MiB)`, 'Raise the maximum or lower the current memory.'),
    );
  }
  if (host && memory.maximumMiB > host.maxMemoryMiB) {
    problems.push(
      problem('invalid-argument', 'memory.maximumMiB', `${memory.maximumMiB} MiB of memory is more than this host can give a VM (${host.maxMemoryMiB} MiB)`, `Use at most ${host.maxMemoryMiB} MiB.`),
    );
  }
  const max = maxVcpus(cpu);
  if (max > MAX_VCPUS) {
    problems.push(
      problem('invalid-argument', 'cpu', `The CPU topology ${cpu.sockets} sockets × ${cpu.cores} cores × ${cpu.threads} threads gives ${max} vCPUs; at most ${MAX_VCPUS} are supported`, 'Use fewer sockets, cores or threads.'),
    );
  }
  if (cpu.vcpus > max) {
    problems.push(
      problem('invalid-argument', 'cpu.vcpus', `${cpu.vcpus} vCPUs do not fit the topology ${cpu.sockets} × ${cpu.cores} × ${cpu.threads} (at most ${max})`, 'Raise sockets, cores or threads, or lower vcpus.'),
    );
  }
  if (host && Math.max(max, cpu.vcpus) > host.maxVcpus) {
    problems.push(problem('invalid-argument', 'cpu.vcpus', `${Math.max(max, cpu.vcpus)} vCPUs are more than this host allows (${host.maxVcpus})`, `Use at most ${host.maxVcpus} vCPUs.`));
  }
  return problems;
}

function platformProblems(def: VmDefinition): EngineError[] {
  const problems: EngineError[] = [];
  if (def.firmware.secureBoot && def.firmware.type !== 'uefi') {
    problems.push(problem('invalid-argument', 'firmware.secureBoot', 'Secure Boot needs UEFI firmware', 'Set the firmware to uefi, or turn Secure Boot off.'));
  }
  if (def.firmware.secureBoot && def.machine !== 'q35') {
    problems.push(problem('invalid-argument', 'firmware.secureBoot', 'Secure Boot needs the q35 machine (OVMF with SMM)', 'Use the q35 machine, or turn Secure Boot off.'));
  }
  if (def.accelerator === 'tcg' && def.cpu.model === CPU_MODEL_HOST_PASSTHROUGH) {
    problems.push(problem('invalid-argument', 'cpu.model', 'CPU model host-passthrough needs KVM, but the accelerator is tcg', 'Use the CPU model "default" (max under TCG), or the kvm or auto accelerator.'));
  }
  return problems;
}

function storageProblems(def: VmDefinition): EngineError[] {
  const problems: EngineError[] = [];
  const slots = [
    ...def.disks.map((disk, index) => ({ bus: disk.bus, field: `disks[${index}].bus` })),
    ...def.cdroms.map((cdrom, index) => ({ bus: cdrom.bus, field: `cdroms[${index}].bus` })),
  ];
  if (def.machine === 'q35') {
    for (const slot of slots.filter((s) => s.bus === 'ide')) {
      problems.push(problem('invalid-argument', slot.field, `The q35 machine has no IDE controller (${slot.field} is ide)`, 'Use the sata bus (q35 has AHCI), or the pc machine.'));
    }
  }
  const ide = slots.filter((s) => s.bus === 'ide').length;
  if (def.machine === 'pc' && ide > MAX_IDE_DEVICES) {
    problems.push(problem('invalid-argument', 'disks', `${ide} IDE disks and CD-ROMs are more than the ${MAX_IDE_DEVICES} the pc machine's IDE controller holds`, 'Put some on sata, scsi or virtio.'));
  }
  const sata = slots.filter((s) => s.bus === 'sata').length;
  if (sata > MAX_SATA_DEVICES) {
    problems.push(problem('invalid-argument', 'disks', `${sata} SATA disks and CD-ROMs are more than the ${MAX_SATA_DEVICES} ports of the AHCI controller`, 'Put some on virtio or scsi.'));
  }
  def.disks.forEach((disk, index) => {
    if (disk.readOnly && (disk.bus === 'sata' || disk.bus === 'ide')) {
      problems.push(
        problem('invalid-argument', `disks[${index}].readOnly`, `QEMU cannot attach a read-only disk on the ${disk.bus} bus (disks[${index}])`, 'Use the virtio or scsi bus for a read-only disk, or make it writable.'),
      );
    }
  });
  const writers = new Map<string, string>();
  def.disks.forEach((disk, index) => {
    if (disk.readOnly) return;
    const field = `disks[${index}].source`;
    const previous = writers.get(disk.source);
    if (previous !== undefined) {
      problems.push(problem('invalid-argument', field, `The image ${disk.source} is attached writable twice (${previous} and ${field})`, 'Attach each image once, or make the extra attachments read-only.'));
    } else writers.set(disk.source, field);
  });
  return problems;
}

function bootProblems(def: VmDefinition): EngineError[] {
  const once = def.boot.bootOnce;
  if (once === null) return [];
  const count = { disk: def.disks.length, cdrom: def.cdroms.length, network: def.nics.length }[once];
  if (count > 0) return [];
  return [problem('invalid-argument', 'boot.bootOnce', `Boot once from ${once} was asked for, but the VM has no ${once === 'disk' ? 'disk' : once === 'cdrom' ? 'CD-ROM' : 'NIC'}`, 'Add one, or clear boot once.')];
}

function nicProblems(def: VmDefinition, others: readonly VmDefinition[]): EngineError[] {
  const problems: EngineError[] = [];
  const ownMacs = new Map<string, string>();
  const otherMacs = new Map<string, string>();
  for (const other of others) for (const nic of other.nics) otherMacs.set(nic.mac, `VM "${other.name}"`);
  def.nics.forEach((nic, index) => {
    const field = `nics[${index}].mac`;
    const mine = ownMacs.get(nic.mac);
    if (mine !== undefined) {
      problems.push(problem('invalid-argument', field, `MAC address ${nic.mac} is used by two NICs of this VM (${mine} and ${field})`, 'Leave the MAC out to get a fresh one.'));
    }
    ownMacs.set(nic.mac, field);
    const owner = otherMacs.get(nic.mac);
    if (owner !== undefined) {
      problems.push(problem('already-exists', field, `MAC address ${nic.mac} is already used by ${owner}`, 'Every NIC needs its own MAC address; leave it out to get a fresh one.'));
    }
    if (nic.network.kind === 'user') problems.push(...userNetworkProblems(nic.network, `nics[${index}].network`));
  });

  const forwards = def.nics.flatMap((nic, n) => (nic.network.kind === 'user' ? nic.network.portForwards.map((forward, f) => ({ forward, field: `nics[${n}].network.portForwards[${f}]` })) : []));
  forwards.forEach(({ forward, field }, i) => {
    const clash = forwards.slice(0, i).find((earlier) => forwardsClash(earlier.forward, forward));
    if (clash) {
      problems.push(
        problem('invalid-argument', field, `Port forward ${forward.protocol} ${forward.hostAddress}:${forward.hostPort} clashes with ${clash.field}`, 'Use another host port for one of them.'),
      );
    }
  });

  def.nics.forEach((nic, index) => {
    if (nic.network.kind !== 'link') return;
    const { name, role } = nic.network;
    const field = `nics[${index}].network`;
    const ends = [
      ...others.flatMap((other) => other.nics.filter((o) => o.network.kind === 'link' && o.network.name === name).map((o) => ({ nic: o, owner: `VM "${other.name}"` }))),
      ...def.nics.filter((o, j) => j !== index && o.network.kind === 'link' && o.network.name === name).map((o) => ({ nic: o, owner: 'this VM' })),
    ];
    const sameEnd = ends.find((end) => end.nic.network.kind === 'link' && end.nic.network.role === role);
    if (ends.length >= 2) {
      problems.push(problem('already-exists', field, `Link "${name}" already joins two NICs (${ends.map((e) => `${e.owner} ${e.nic.id}`).join(' and ')}); a link connects exactly two`, 'Use another link name, or a virtual network for more than two VMs.'));
    } else if (sameEnd) {
      problems.push(problem('already-exists', field, `End ${role} of link "${name}" is already used by ${sameEnd.owner} (${sameEnd.nic.id})`, `Use role ${role === 'a' ? 'b' : 'a'}, or leave the role out to take the free end.`));
    }
  });
  return problems;
}

function userNetworkProblems(network: Extract<VmDefinition['nics'][number]['network'], { kind: 'user' }>, field: string): EngineError[] {
  const problems: EngineError[] = [];
  const subnet = parseCidr(network.subnet ?? SLIRP_DEFAULT_SUBNET);
  const seen = new Map<number, string>();
  for (const key of ['hostAddress', 'dns', 'dhcpStart'] as const) {
    const text = network[key];
    if (text === undefined) continue;
    const address = tryParseIpv4(text);
    if (address === undefined) continue; // the schema reports it
    if (!cidrContains(subnet, address) || address === subnet.network || address === subnet.broadcast) {
      problems.push(
        problem('invalid-argument', `${field}.${key}`, `${key} ${text} is not a host address of the subnet ${formatIpv4(subnet.network)}/${subnet.prefix}`, 'Pick an address inside the subnet, or leave it out for slirp\'s default.'),
      );
    }
    const previous = seen.get(address);
    if (previous !== undefined) {
      problems.push(problem('invalid-argument', `${field}.${key}`, `${key} and ${previous} are both ${text}`, 'The host, DNS and first DHCP addresses must differ.'));
    }
    seen.set(address, key);
  }
  if (subnet.prefix > 30) {
    problems.push(problem('invalid-argument', `${field}.subnet`, `The subnet /${subnet.prefix} is too small for user networking`, 'Use a /24 such as 10.0.3.0/24.'));
  }
  return problems;
}
