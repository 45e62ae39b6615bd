import type { NewDiskInput, VmCreateInput } from '../../../../engine/api/vm-api';
import type { InstallSource } from './wizard-fields';

export type StorageChoice = 'new' | 'existing' | 'none';
export type NetworkChoice = 'user' | 'network' | 'bridge' | 'none';

export interface PortForwardRow {
  protocol: 'tcp' | 'udp';
  hostPort: number | undefined;
  guestPort: number | undefined;
}

const GIB = 1024 ** 3;

/** What the person chose in the wizard, and only that (the wizard's state class is one). */
export interface WizardChoices {
  readonly source: InstallSource;
  readonly isoPath: string;
  readonly importPath: string;
  readonly importFormat: '' | 'qcow2' | 'raw';
  readonly url: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
  readonly osId: string;
  readonly osFrom: 'user' | 'detection' | undefined;
  readonly memoryMiB: number | undefined;
  readonly vcpus: number | undefined;
  readonly storage: StorageChoice;
  /** The size the person typed, else the chosen OS's recommendation. */
  readonly effectiveDiskGiB: number | undefined;
  /** The pool for a new disk: the person's choice, else the preferences' default pool. */
  readonly targetPool: string | undefined;
  readonly existingDisk: string;
  readonly name: string;
  readonly network: NetworkChoice;
  readonly networkName: string;
  readonly bridgeName: string;
  readonly portForwards: readonly PortForwardRow[];
  /** The chosen OS's recommended resources (picking the OS picked them). */
  readonly recommended: { memoryMiB?: number; vcpus?: number };
}

/** An imported disk is the machine's storage; the storage step adds nothing then. */
export function storageApplies(choices: Pick<WizardChoices, 'source'>): boolean {
  return choices.source !== 'import';
}

/** The disk the engine is to create, when the person asked for a new one and it is fully chosen. */
export function newDiskOf(choices: WizardChoices): (NewDiskInput & { create: { pool: string; sizeBytes: number } }) | undefined {
  const size = choices.effectiveDiskGiB;
  const pool = choices.targetPool;
  if (!storageApplies(choices) || choices.storage !== 'new' || size === undefined || pool === undefined) return undefined;
  return { create: { pool, sizeBytes: Math.round(size * GIB) } };
}

/**
 * The input of `vms.create` (and `vms.preview`): exactly what the person chose, nothing the
 * engine would default. Without a name (not chosen yet) the preview names the machine itself.
 */
export function toDefinitionInput(choices: WizardChoices, name: string | undefined): VmCreateInput | Omit<VmCreateInput, 'name'> {
  const input: Partial<VmCreateInput> = {};
  if (name) input.name = name;
  // A detected OS belongs to the ISO it came from, not to a download.
  if (choices.osId.trim() && !(choices.source === 'url' && choices.osFrom === 'detection')) input.osId = choices.osId.trim();
  const memory = choices.memoryMiB ?? choices.recommended.memoryMiB;
  const vcpus = choices.vcpus ?? choices.recommended.vcpus;
  if (memory !== undefined) input.memory = { maximumMiB: memory };
  if (vcpus !== undefined) input.cpu = { vcpus };
  const disks: NewDiskInput[] = [];
  const newDisk = newDiskOf(choices);
  if (newDisk) disks.push(newDisk);
  switch (choices.source) {
    case 'iso':
      if (choices.isoPath.trim()) input.cdroms = [{ media: choices.isoPath.trim() }];
      break;
    case 'url':
      if (choices.url.trim()) input.cdroms = [{ download: { url: choices.url.trim() } }];
      break;
    case 'import':
      if (choices.importPath.trim()) disks.push({ source: choices.importPath.trim(), ...(choices.importFormat ? { format: choices.importFormat } : {}) });
      break;
    case 'pxe':
      input.boot = { bootOnce: 'network' };
      break;
    case 'kernel':
      if (choices.kernel.trim()) {
        input.directKernel = {
          kernel: choices.kernel.trim(),
          ...(choices.initrd.trim() ? { initrd: choices.initrd.trim() } : {}),
          ...(choices.cmdline ? { cmdline: choices.cmdline } : {}),
        };
      }
      break;
    case 'manual':
      break;
  }
  if (storageApplies(choices) && choices.storage === 'existing' && choices.existingDisk.trim()) disks.push({ source: choices.existingDisk.trim() });
  if (disks.length > 0) input.disks = disks;
  const forwards = choices.portForwards.flatMap((row) =>
    row.hostPort === undefined || row.guestPort === undefined ? [] : [{ protocol: row.protocol, hostPort: row.hostPort, guestPort: row.guestPort }],
  );
  switch (choices.network) {
    case 'user':
      if (forwards.length > 0) input.nics = [{ network: { kind: 'user', portForwards: forwards } }];
      break;
    case 'network':
      input.nics = [{ network: { kind: 'network', name: choices.networkName.trim() } }];
      break;
    case 'bridge':
      input.nics = [{ network: { kind: 'bridge', name: choices.bridgeName.trim() } }];
      break;
    case 'none':
      input.nics = [];
      break;
  }
  return input;
}

/** A name from the OS or the install media, unique among `taken`; only ever a suggestion. */
export function suggestName(choices: Pick<WizardChoices, 'osId' | 'source' | 'isoPath' | 'importPath' | 'kernel'>, taken: readonly string[]): string | undefined {
  const media = choices.source === 'iso' ? choices.isoPath : choices.source === 'import' ? choices.importPath : choices.source === 'kernel' ? choices.kernel : '';
  const base = (choices.osId.trim() || basename(media).replace(/\.(iso|img|qcow2|raw)$/i, ''))
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+/, '')
    .slice(0, 48);
  if (!base) return undefined;
  if (!taken.includes(base)) return base;
  for (let n = 2; ; n++) if (!taken.includes(`${base}-${n}`)) return `${base}-${n}`;
}

function basename(path: string): string {
  return path.trim().split('/').pop() ?? '';
}
