import { parseArgs } from 'node:util';
import { formatHostCheck, runHostChecks } from '../host/check';
import { collectHostCapabilities, type HostCapabilities } from '../host/host-capabilities';
import { virtdeskHome } from '../paths';
import type { CliCommand, CliIo } from './command';
import { UsageError } from './run-cli';

function parse(args: string[], options: { json?: true; refresh?: true }) {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      ...(options.refresh ? { refresh: { type: 'boolean' as const, default: false } } : {}),
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  return values as { json: boolean; refresh?: boolean };
}

const hostCheck: CliCommand = {
  path: ['host', 'check'],
  summary: 'Check that this host can run VMs (like virt-host-validate)',
  usage: 'virtdesk host check [--json]',
  async run(args: string[], io: CliIo): Promise<number> {
    const { json } = parse(args, { json: true });
    const results = await runHostChecks({ env: io.env, home: virtdeskHome(io.env) });
    io.stdout(json ? `${JSON.stringify(results, null, 2)}\n` : formatHostCheck(results));
    return results.some((result) => result.status === 'FAIL') ? 1 : 0;
  },
};

const MIB = 1024 ** 2;

function formatCaps(caps: HostCapabilities): string {
  const { qemu, accel, cpuModel, firmware, resources } = caps;
  const aliases = qemu.machines.filter((m) => m.alias).map((m) => `${m.alias} → ${m.name}${m.isDefault ? ' (default)' : ''}`);
  const rows: [string, string][] = [
    ['QEMU', `${qemu.binary}, ${qemu.version.text}`],
    ['Accelerators built in', qemu.accelerators.join(', ')],
    ['Accelerator for "auto"', `${accel.accel}: ${accel.reason}`],
    ['KVM', `/dev/kvm ${accel.kvm.device}, module ${accel.kvm.module}, CPU flags ${accel.kvm.cpuFlags.join('/') || 'none'}`],
    ['CPU model', cpuModel.reason],
    ['Machine types', `${aliases.join(', ')}; ${qemu.machines.length} in all`],
    ['CPU models', `${qemu.cpuModels.length}`],
    ['Device models', `${qemu.devices.length}`],
    ['QMP commands', `${qemu.qmpCommands.length}`],
    ['UEFI firmware', firmware.uefi ? firmware.uefi.code : 'none'],
    ['UEFI Secure Boot', firmware.uefiSecureBoot ? `${firmware.uefiSecureBoot.code}${firmware.uefiSecureBoot.enrolledKeys ? ' (keys enrolled)' : ''}` : 'none'],
    ['Memory', `${Math.round(resources.memory.availableBytes / MIB)} MiB available of ${Math.round(resources.memory.totalBytes / MIB)} MiB`],
    ['CPUs', `${resources.cpus}`],
    ['KSM', resources.ksm.available ? (resources.ksm.running ? `running, ${resources.ksm.pagesSharing} pages shared` : 'available, off') : 'unavailable'],
    [
      'Hugepages',
      `transparent ${resources.hugepages.transparent}; ${resources.hugepages.total} reserved × ${resources.hugepages.pageSizeBytes / MIB} MiB`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return `${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`;
}

const hostCaps: CliCommand = {
  path: ['host', 'caps'],
  summary: "Show what this host's QEMU and hardware can do",
  usage: 'virtdesk host caps [--json] [--refresh]',
  async run(args: string[], io: CliIo): Promise<number> {
    const { json, refresh } = parse(args, { json: true, refresh: true });
    const caps = await collectHostCapabilities({ env: io.env, home: virtdeskHome(io.env), ...(refresh ? { refresh: true } : {}) });
    io.stdout(json ? `${JSON.stringify(caps, null, 2)}\n` : formatCaps(caps));
    return 0;
  },
};

export const hostCommands: CliCommand[] = [hostCheck, hostCaps];
