import { isAbsolute } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EngineError } from '../api/errors';
import { IsoLibrary, type IsoListItem } from '../storage/iso/iso-library';
import { isUnknownOs, type OsDetection } from '../storage/iso/detect-os';
import { CREATABLE_FORMATS, PREALLOCATION_MODES, type CreatableFormat, type Preallocation } from '../storage/qemu-img/types';
import { formatBytes } from '../model/bytes';
import { parseSize } from '../storage/size';
import { StorageService } from '../storage/storage-service';
import type { UsageResolver } from '../storage/usage';
import { attachDisk, changeCdromMedia, detachDisk, type MediaChangeResult } from '../storage/vm-media/vm-media';
import { vmUsageResolver } from '../storage/vm-usage';
import { DISK_BUSES, type DiskBus } from '../model/disk';
import { probeImage } from '../storage/volumes/format-check';
import type { Volume } from '../storage/volumes/types';
import { virtdeskHome } from '../paths';
import type { CliCommand, CliIo } from './command';
import { UsageError } from './run-cli';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Which VMs use a file: the VM definitions under VIRTDESK_HOME, unless a host sets its own (e.g. its live registry). */
let usageOverride: UsageResolver | undefined;
export function setStorageCliUsageResolver(resolver: UsageResolver | undefined): void {
  usageOverride = resolver;
}

function usage(io: CliIo): UsageResolver {
  return usageOverride ?? vmUsageResolver(virtdeskHome(io.env), io.env);
}

function storage(io: CliIo): StorageService {
  return new StorageService({ home: virtdeskHome(io.env), usage: usage(io), env: io.env });
}

function isoLibrary(io: CliIo): IsoLibrary {
  return new IsoLibrary({ home: virtdeskHome(io.env), ...(io.env.VIRTDESK_OSINFO_DIR ? { osinfoDir: io.env.VIRTDESK_OSINFO_DIR } : {}), usage: usage(io) });
}

function parse(args: string[], options: Options, positionals: { min: number; max: number; names: string }) {
  const parsed = parseArgs({ args, strict: true, allowPositionals: true, options: { json: { type: 'boolean', default: false }, ...options } });
  if (parsed.positionals.length < positionals.min) throw new UsageError(`missing ${positionals.names}`);
  if (parsed.positionals.length > positionals.max) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`);
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

function str(values: Record<string, string | boolean | undefined>, key: string): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${what} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}

function printJson(io: CliIo, value: unknown): number {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

/** Progress on stderr for a person; nothing when --json (stdout stays machine-readable). */
function progressPrinter(io: CliIo, json: boolean, label: string): ((percent: number) => void) & { done(): void } {
  let last = -1;
  const fn = (percent: number) => {
    const rounded = Math.floor(percent);
    if (json || rounded === last) return;
    last = rounded;
    io.stderr(`\r${label} ${rounded}%`);
  };
  return Object.assign(fn, {
    done: () => {
      if (!json && last >= 0) io.stderr('\n');
    },
  });
}

function warn(io: CliIo, warnings: readonly string[]): void {
  for (const warning of warnings) io.stderr(`warning: ${warning}\n`);
}

function describeVolume(v: Volume): string {
  const users = v.usedBy.map((u) => `${u.vmName}${u.running ? ' (running)' : ''}`).join(', ');
  const rows: [string, string][] = [
    ['Name', v.name],
    ['Pool', v.pool],
    ['Path', v.path],
    ['Format', v.format],
    ['Virtual size', `${formatBytes(v.virtualSize)} (${v.virtualSize} bytes)`],
    ['Allocation', formatBytes(v.allocation)],
  ];
  if (v.referenceTo) rows.push(['Refers to', v.referenceTo]);
  if (v.backingPath) rows.push(['Backing file', `${v.backingPath} (${v.backingFormat ?? 'format not recorded'})`]);
  if (v.baseOf.length > 0) rows.push(['Base of', v.baseOf.join(', ')]);
  rows.push(['Used by', users || 'no VM']);
  if (v.dirty) rows.push(['Dirty', 'yes (not closed cleanly)']);
  if (v.corrupt) rows.push(['Corrupt', 'yes: run `virtdesk image check --repair all`']);
  if (v.problem) rows.push(['Problem', v.problem]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, val]) => `${k.padEnd(width)}  ${val}`).join('\n')}\n`;
}

function describeDetection(d: OsDetection): string {
  if (isUnknownOs(d)) {
    const candidates = d.candidates?.length ? `\n  could be: ${d.candidates.map((c) => `${c.name} (${c.osId})`).join(', ')}` : '';
    return `unknown: ${d.reason}${candidates}`;
  }
  const r = d.recommended;
  const parts = [r.memoryMiB !== undefined ? `${r.memoryMiB} MiB RAM` : undefined, r.vcpus !== undefined ? `${r.vcpus} vCPU` : undefined, r.diskBytes !== undefined ? `${formatBytes(r.diskBytes)} disk` : undefined].filter(Boolean);
  return `${d.name} (${d.osId})${parts.length ? `; recommended ${parts.join(', ')}` : ''}`;
}

// ---- pools ----

const poolList: CliCommand = {
  path: ['pool', 'list'],
  summary: 'List storage pools (folders that hold disk images)',
  usage: 'virtdesk pool list [--json]',
  async run(args, io) {
    const { values } = parse(args, {}, { min: 0, max: 0, names: '' });
    const result = await storage(io).listPools();
    if (values.json) return printJson(io, result);
    const rows = [['NAME', 'FREE', 'PATH'], ...result.pools.map((p) => [p.name, p.available ? formatBytes(p.freeBytes ?? 0) : 'unavailable', p.path])];
    io.stdout(table(rows));
    for (const problem of result.problems) io.stderr(`warning: ${problem}\n`);
    return 0;
  },
};

const poolAdd: CliCommand = {
  path: ['pool', 'add'],
  summary: 'Add a folder as a storage pool',
  usage: 'virtdesk pool add NAME PATH [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, {}, { min: 2, max: 2, names: 'NAME and PATH' });
    const pool = await storage(io).addPool(positionals[0] ?? '', positionals[1] ?? '');
    if (values.json) return printJson(io, pool);
    io.stdout(`Added pool "${pool.name}" at ${pool.path}.\n`);
    return 0;
  },
};

const poolRemove: CliCommand = {
  path: ['pool', 'remove'],
  summary: 'Forget a storage pool (its folder and files stay on disk)',
  usage: 'virtdesk pool remove NAME [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, {}, { min: 1, max: 1, names: 'NAME' });
    const pool = await storage(io).removePool(positionals[0] ?? '');
    if (values.json) return printJson(io, pool);
    io.stdout(`Removed pool "${pool.name}". The folder ${pool.path} and its files were left as they are.\n`);
    return 0;
  },
};

// ---- images ----

const poolOption: Options = { pool: { type: 'string', default: 'default' } };

const imageList: CliCommand = {
  path: ['image', 'list'],
  summary: 'List the disk images in a pool',
  usage: 'virtdesk image list [--pool NAME] [--json]',
  async run(args, io) {
    const { values } = parse(args, poolOption, { min: 0, max: 0, names: '' });
    const volumes = await storage(io).listVolumes(str(values, 'pool') ?? 'default');
    if (values.json) return printJson(io, volumes);
    if (volumes.length === 0) {
      io.stdout('No images in this pool.\n');
      return 0;
    }
    const rows = [
      ['NAME', 'FORMAT', 'SIZE', 'ALLOCATED', 'BACKING', 'USED BY'],
      ...volumes.map((v) => [v.name, v.problem ? 'unreadable' : v.format, formatBytes(v.virtualSize), formatBytes(v.allocation), v.backingPath ?? '-', v.usedBy.map((u) => u.vmName).join(',') || '-']),
    ];
    io.stdout(table(rows));
    return 0;
  },
};

const imageCreate: CliCommand = {
  path: ['image', 'create'],
  summary: 'Create an empty disk image in a pool',
  usage: 'virtdesk image create NAME --size SIZE [--pool NAME] [--format qcow2|raw] [--preallocation off|metadata|falloc|full] [--cluster-size SIZE] [--overcommit] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      { ...poolOption, size: { type: 'string' }, format: { type: 'string', default: 'qcow2' }, preallocation: { type: 'string' }, 'cluster-size': { type: 'string' }, overcommit: { type: 'boolean', default: false } },
      { min: 1, max: 1, names: 'NAME' },
    );
    const size = str(values, 'size');
    if (!size) throw new UsageError('--size is required (for example --size 20G)');
    const format = oneOf<CreatableFormat>(str(values, 'format'), CREATABLE_FORMATS, '--format') ?? 'qcow2';
    const preallocation = oneOf<Preallocation>(str(values, 'preallocation'), PREALLOCATION_MODES, '--preallocation');
    const cluster = str(values, 'cluster-size');
    const request: Parameters<StorageService['createVolume']>[0] = {
      pool: str(values, 'pool') ?? 'default',
      name: positionals[0] ?? '',
      format,
      sizeBytes: parseSize(size),
      allowOvercommit: values.overcommit === true,
    };
    if (preallocation) request.preallocation = preallocation;
    if (cluster) request.clusterSize = parseSize(cluster);
    const { volume, warnings } = await storage(io).createVolume(request);
    warn(io, warnings);
    if (values.json) return printJson(io, { volume, warnings });
    io.stdout(`Created ${volume.path} (${volume.format}, ${formatBytes(volume.virtualSize)}).\n`);
    return 0;
  },
};

const imageInfo: CliCommand = {
  path: ['image', 'info'],
  summary: 'Show an image: format, sizes, backing chain, users, snapshots',
  usage: 'virtdesk image info NAME|PATH [--pool NAME] [--format FORMAT] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { ...poolOption, format: { type: 'string' } }, { min: 1, max: 1, names: 'NAME or PATH' });
    const target = positionals[0] ?? '';
    const claimed = str(values, 'format');
    if (target.includes('/')) {
      // Any image file, in a pool or not: what qemu-img says, checked against --format.
      if (!isAbsolute(target)) throw new UsageError('give a file as an absolute path, or an image name with --pool');
      const { info, rawSignature } = await probeImage(target, claimed, { env: io.env });
      if (values.json) return printJson(io, { info, ...(rawSignature ? { rawSignature } : {}) });
      const chain = info.chain.length > 1 ? `Backing chain  ${info.chain.map((i) => `${i.path} (${i.format})`).join(' → ')}\n` : '';
      io.stdout(`Path           ${info.path}\nFormat         ${info.format}${rawSignature ? ` (${rawSignature})` : ''}\nVirtual size   ${formatBytes(info.virtualSize)}\nAllocation     ${formatBytes(info.actualSize)}\n${chain}`);
      return 0;
    }
    const { volume, info } = await storage(io).volumeInfo(str(values, 'pool') ?? 'default', target);
    if (claimed && claimed !== info.format) {
      throw new EngineError('invalid-argument', `"${volume.name}" is a ${info.format} image, not ${claimed}.`, { hint: `Use --format ${info.format}.` });
    }
    if (values.json) return printJson(io, { volume, info });
    let text = describeVolume(volume);
    if (info.chain.length > 1) text += `Backing chain  ${info.chain.map((i) => `${i.path} (${i.format})`).join(' → ')}\n`;
    if (info.snapshots.length > 0) text += `Snapshots      ${info.snapshots.map((s) => `${s.name} (${s.date})`).join(', ')}\n`;
    io.stdout(text);
    return 0;
  },
};

const imageResize: CliCommand = {
  path: ['image', 'resize'],
  summary: 'Grow an image (shrinking only raw images, with --force)',
  usage: 'virtdesk image resize NAME SIZE|+SIZE [--pool NAME] [--force] [--overcommit] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { ...poolOption, force: { type: 'boolean', default: false }, overcommit: { type: 'boolean', default: false } }, { min: 2, max: 2, names: 'NAME and SIZE' });
    const service = storage(io);
    const pool = str(values, 'pool') ?? 'default';
    const name = positionals[0] ?? '';
    const sizeText = positionals[1] ?? '';
    const sizeBytes = sizeText.startsWith('+') ? (await service.getVolume(pool, name)).virtualSize + parseSize(sizeText.slice(1)) : parseSize(sizeText);
    const result = await service.resizeVolume({ pool, name, sizeBytes, force: values.force === true, allowOvercommit: values.overcommit === true });
    warn(io, result.warnings);
    if (values.json) return printJson(io, result);
    io.stdout(`Resized ${result.volume.name} from ${formatBytes(result.previousSize)} to ${formatBytes(result.volume.virtualSize)}.\n`);
    return 0;
  },
};

async function copyCommand(args: string[], io: CliIo, kind: 'convert' | 'clone'): Promise<number> {
  const extra: Options = { ...poolOption, 'target-pool': { type: 'string' }, format: { type: 'string' }, overcommit: { type: 'boolean', default: false } };
  if (kind === 'clone') extra.linked = { type: 'boolean', default: false };
  else extra.compress = { type: 'boolean', default: false };
  const { values, positionals } = parse(args, extra, { min: 2, max: 2, names: 'NAME and NEW-NAME' });
  const format = oneOf<CreatableFormat>(str(values, 'format'), CREATABLE_FORMATS, '--format');
  if (kind === 'convert' && !format) throw new UsageError('--format is required (qcow2 or raw)');
  const json = values.json === true;
  const progress = progressPrinter(io, json, kind === 'convert' ? 'Converting' : 'Copying');
  const request: Parameters<StorageService['cloneVolume']>[0] = {
    pool: str(values, 'pool') ?? 'default',
    name: positionals[0] ?? '',
    newName: positionals[1] ?? '',
    mode: values.linked === true ? 'linked' : 'full',
    allowOvercommit: values.overcommit === true,
    onProgress: (e) => progress(e.percent),
  };
  const targetPool = str(values, 'target-pool');
  if (targetPool) request.targetPool = targetPool;
  if (format) request.format = format;
  if (values.compress === true) request.compress = true;
  const { volume, warnings } = await storage(io).cloneVolume(request);
  progress.done();
  warn(io, warnings);
  if (json) return printJson(io, { volume, warnings });
  io.stdout(volume.backingPath ? `Created linked clone ${volume.path} on top of ${volume.backingPath}.\n` : `Created ${volume.path} (${volume.format}, ${formatBytes(volume.virtualSize)}).\n`);
  return 0;
}

const imageConvert: CliCommand = {
  path: ['image', 'convert'],
  summary: 'Copy an image into a new one of another format',
  usage: 'virtdesk image convert NAME NEW-NAME --format qcow2|raw [--compress] [--pool NAME] [--target-pool NAME] [--json]',
  run: (args, io) => copyCommand(args, io, 'convert'),
};

const imageClone: CliCommand = {
  path: ['image', 'clone'],
  summary: 'Clone an image: a full copy, or a linked clone (qcow2 overlay) with --linked',
  usage: 'virtdesk image clone NAME NEW-NAME [--linked] [--format qcow2|raw] [--pool NAME] [--target-pool NAME] [--json]',
  run: (args, io) => copyCommand(args, io, 'clone'),
};

const imageDelete: CliCommand = {
  path: ['image', 'delete'],
  summary: 'Delete an image (refused while a VM uses it)',
  usage: 'virtdesk image delete NAME [--pool NAME] [--force] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { ...poolOption, force: { type: 'boolean', default: false } }, { min: 1, max: 1, names: 'NAME' });
    const result = await storage(io).deleteVolume({ pool: str(values, 'pool') ?? 'default', name: positionals[0] ?? '', force: values.force === true });
    if (values.json) return printJson(io, result);
    io.stdout(result.keptFile ? `Removed the reference ${result.deleted}; the file ${result.keptFile} was kept.\n` : `Deleted ${result.deleted}.\n`);
    return 0;
  },
};

const imageImport: CliCommand = {
  path: ['image', 'import'],
  summary: 'Bring an existing disk image into a pool (copy, move, or reference in place)',
  usage: 'virtdesk image import PATH [--mode copy|move|reference] [--name NAME] [--format FORMAT] [--pool NAME] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { ...poolOption, mode: { type: 'string', default: 'copy' }, name: { type: 'string' }, format: { type: 'string' } }, { min: 1, max: 1, names: 'PATH' });
    const mode = oneOf(str(values, 'mode'), ['copy', 'move', 'reference'] as const, '--mode') ?? 'copy';
    const json = values.json === true;
    const progress = progressPrinter(io, json, 'Copying');
    const request: Parameters<StorageService['importVolume']>[0] = { pool: str(values, 'pool') ?? 'default', source: positionals[0] ?? '', mode, onProgress: (e) => progress(e.percent) };
    const name = str(values, 'name');
    const format = str(values, 'format');
    if (name) request.name = name;
    if (format) request.format = format;
    const { volume, warnings } = await storage(io).importVolume(request);
    progress.done();
    warn(io, warnings);
    if (json) return printJson(io, { volume, warnings });
    io.stdout(`Imported ${volume.name} (${volume.format}, ${formatBytes(volume.virtualSize)}) into pool "${volume.pool}" by ${mode}.\n`);
    return 0;
  },
};

const imageCheck: CliCommand = {
  path: ['image', 'check'],
  summary: 'Check an image for errors (and repair with --repair leaks|all)',
  usage: 'virtdesk image check NAME [--repair leaks|all] [--pool NAME] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { ...poolOption, repair: { type: 'string' } }, { min: 1, max: 1, names: 'NAME' });
    const repair = oneOf(str(values, 'repair'), ['leaks', 'all'] as const, '--repair');
    const result = await storage(io).checkVolume({ pool: str(values, 'pool') ?? 'default', name: positionals[0] ?? '', ...(repair ? { repair } : {}) });
    if (values.json) printJson(io, result);
    else io.stdout(`${result.summary}\n${result.findings.map((f) => `  ${f}\n`).join('')}`);
    return result.clean ? 0 : 1;
  },
};

const imageDownload: CliCommand = {
  path: ['image', 'download'],
  summary: 'Download a disk image into a pool (resumable, with --sha256 verification)',
  usage: 'virtdesk image download URL [--name NAME] [--sha256 HEX] [--format FORMAT] [--pool NAME] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { ...poolOption, name: { type: 'string' }, sha256: { type: 'string' }, format: { type: 'string' } }, { min: 1, max: 1, names: 'URL' });
    const json = values.json === true;
    const progress = progressPrinter(io, json, 'Downloading');
    const request: Parameters<StorageService['downloadVolume']>[0] = { pool: str(values, 'pool') ?? 'default', url: positionals[0] ?? '', onProgress: (p) => p.percent !== undefined && progress(p.percent) };
    for (const key of ['name', 'sha256', 'format'] as const) {
      const value = str(values, key);
      if (value) request[key] = value;
    }
    const { volume } = await storage(io).downloadVolume(request);
    progress.done();
    if (json) return printJson(io, volume);
    io.stdout(`Downloaded ${volume.path} (${volume.format}, ${formatBytes(volume.virtualSize)}).\n`);
    return 0;
  },
};

// ---- ISOs ----

const isoAdd: CliCommand = {
  path: ['iso', 'add'],
  summary: 'Add a local ISO file to the library and identify its OS',
  usage: 'virtdesk iso add PATH [--name NAME] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { name: { type: 'string' } }, { min: 1, max: 1, names: 'PATH' });
    const name = str(values, 'name');
    const entry = await isoLibrary(io).add(positionals[0] ?? '', name ? { name } : {});
    if (values.json) return printJson(io, entry);
    io.stdout(`Added ${entry.name}: ${describeDetection(entry.detection)}\n`);
    return 0;
  },
};

const isoList: CliCommand = {
  path: ['iso', 'list'],
  summary: 'List the ISO library',
  usage: 'virtdesk iso list [--json]',
  async run(args, io) {
    const { values } = parse(args, {}, { min: 0, max: 0, names: '' });
    const result = await isoLibrary(io).list();
    if (values.json) return printJson(io, result);
    if (result.isos.length === 0) io.stdout('The ISO library is empty. Add one with `virtdesk iso add PATH`.\n');
    else io.stdout(table([['NAME', 'OS', 'VOLUME ID', 'PATH'], ...result.isos.map((i: IsoListItem) => [i.name, i.detection.osId, i.label.volumeId, i.missing ? `${i.path} (missing)` : i.path])]));
    for (const problem of result.problems) io.stderr(`warning: ${problem}\n`);
    return 0;
  },
};

const isoDetect: CliCommand = {
  path: ['iso', 'detect'],
  summary: 'Read an ISO’s labels and identify the OS it installs',
  usage: 'virtdesk iso detect PATH|NAME [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, {}, { min: 1, max: 1, names: 'PATH or NAME' });
    const library = isoLibrary(io);
    const target = positionals[0] ?? '';
    const path = target.includes('/') ? target : (await library.get(target)).path;
    const result = await library.detect(path);
    if (values.json) return printJson(io, result);
    const l = result.label;
    io.stdout(`Volume ID     ${l.volumeId || '(none)'}\nPublisher     ${l.publisherId || '(none)'}\nApplication   ${l.applicationId || '(none)'}\nSystem ID     ${l.systemId || '(none)'}\nOS            ${describeDetection(result.detection)}\n`);
    return 0;
  },
};

const isoRemove: CliCommand = {
  path: ['iso', 'remove'],
  summary: 'Remove an ISO from the library (the file stays unless it was downloaded and --delete-file is given)',
  usage: 'virtdesk iso remove NAME [--delete-file] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { 'delete-file': { type: 'boolean', default: false } }, { min: 1, max: 1, names: 'NAME' });
    const result = await isoLibrary(io).remove(positionals[0] ?? '', { deleteFile: values['delete-file'] === true });
    if (values.json) return printJson(io, result);
    io.stdout(`Removed ${result.entry.name} from the library${result.deletedFile ? ' and deleted the file' : `; ${result.entry.path} stays on disk`}.\n`);
    return 0;
  },
};

const isoDownload: CliCommand = {
  path: ['iso', 'download'],
  summary: 'Download an ISO into the library (resumable, with --sha256 verification)',
  usage: 'virtdesk iso download URL [--name NAME] [--sha256 HEX] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { name: { type: 'string' }, sha256: { type: 'string' } }, { min: 1, max: 1, names: 'URL' });
    const json = values.json === true;
    const progress = progressPrinter(io, json, 'Downloading');
    const request: Parameters<IsoLibrary['download']>[0] = { url: positionals[0] ?? '', onProgress: (p) => p.percent !== undefined && progress(p.percent) };
    const name = str(values, 'name');
    const sha256 = str(values, 'sha256');
    if (name) request.name = name;
    if (sha256) request.sha256 = sha256;
    const entry = await isoLibrary(io).download(request);
    progress.done();
    if (json) return printJson(io, entry);
    io.stdout(`Downloaded ${entry.name}: ${describeDetection(entry.detection)}\n`);
    return 0;
  },
};

// ---- disks and media of VMs ----

function describeChange(result: MediaChangeResult, what: string): string {
  if (result.live) return `${what} (applied to the running VM).\n`;
  if (result.restartNeeded) return `${what} in the definition; restart the VM to apply it: ${result.note ?? ''}\n`;
  return `${what}.\n`;
}

const vmDiskAttach: CliCommand = {
  path: ['vm', 'disk', 'attach'],
  summary: 'Attach a disk image to a VM (hot-plugged when it runs)',
  usage: 'virtdesk vm disk attach VM PATH|IMAGE [--pool NAME] [--bus virtio|scsi|sata|ide] [--format qcow2|raw] [--readonly] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      { pool: { type: 'string' }, bus: { type: 'string' }, format: { type: 'string' }, readonly: { type: 'boolean', default: false } },
      { min: 2, max: 2, names: 'VM and the image (a path, or a name in --pool)' },
    );
    const image = positionals[1] ?? '';
    const pool = str(values, 'pool');
    const source = image.includes('/') ? image : (await storage(io).getVolume(pool ?? 'default', image)).path;
    const bus = oneOf<DiskBus>(str(values, 'bus'), DISK_BUSES, '--bus');
    const format = oneOf(str(values, 'format'), ['qcow2', 'raw'] as const, '--format');
    const result = await attachDisk(
      { home: virtdeskHome(io.env), env: io.env, usage: usage(io) },
      { vm: positionals[0] ?? '', source, readOnly: values.readonly === true, ...(bus ? { bus } : {}), ...(format ? { format } : {}) },
    );
    if (values.json) return printJson(io, result);
    io.stdout(describeChange(result, `Attached ${result.disk.source} to "${result.vm}" as ${result.deviceId}`));
    return 0;
  },
};

const vmDiskDetach: CliCommand = {
  path: ['vm', 'disk', 'detach'],
  summary: 'Detach a disk from a VM (hot-unplugged when it runs); the image file stays',
  usage: 'virtdesk vm disk detach VM DISK-ID|PATH [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, {}, { min: 2, max: 2, names: 'VM and DISK-ID' });
    const result = await detachDisk({ home: virtdeskHome(io.env), env: io.env }, { vm: positionals[0] ?? '', disk: positionals[1] ?? '' });
    if (values.json) return printJson(io, result);
    io.stdout(describeChange(result, `Detached ${result.deviceId} from "${result.vm}"`));
    return 0;
  },
};

const vmCdrom: CliCommand = {
  path: ['vm', 'cdrom'],
  summary: "Insert or change the ISO in a VM's CD-ROM drive, or eject it",
  usage: 'virtdesk vm cdrom VM ISO|--eject [--drive CDROM-ID] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { eject: { type: 'boolean', default: false }, drive: { type: 'string' } }, { min: 1, max: 2, names: 'VM' });
    const eject = values.eject === true;
    if (eject === (positionals[1] !== undefined)) throw new UsageError('give either an ISO or --eject');
    let media: string | null = null;
    if (!eject) {
      const iso = positionals[1] ?? '';
      media = iso.includes('/') ? iso : (await isoLibrary(io).get(iso)).path;
    }
    const drive = str(values, 'drive');
    const result = await changeCdromMedia({ home: virtdeskHome(io.env), env: io.env }, { vm: positionals[0] ?? '', media, ...(drive ? { cdrom: drive } : {}) });
    if (values.json) return printJson(io, result);
    io.stdout(describeChange(result, media === null ? `Ejected the disc from ${result.deviceId} of "${result.vm}"` : `Inserted ${media} into ${result.deviceId} of "${result.vm}"`));
    return 0;
  },
};

export const storageCommands: CliCommand[] = [
  poolList,
  poolAdd,
  poolRemove,
  imageList,
  imageCreate,
  imageInfo,
  imageResize,
  imageConvert,
  imageClone,
  imageDelete,
  imageImport,
  imageCheck,
  imageDownload,
  isoAdd,
  isoList,
  isoDetect,
  isoRemove,
  isoDownload,
  vmDiskAttach,
  vmDiskDetach,
  vmCdrom,
];
