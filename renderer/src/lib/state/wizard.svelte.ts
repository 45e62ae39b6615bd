import type { HostOverview } from '../../../../engine/api/host-api';
import type { VmDetails, VmSummary } from '../../../../engine/api/vm-api';
import { errorText, fieldProblems, type FieldProblem } from '../../components/common/errors';
import type { VmDefinition } from '../../components/machines/types';
import type { VirtdeskClient } from '../api/client';

export type InstallSource = 'iso' | 'import' | 'url' | 'pxe' | 'kernel' | 'manual';
export type StorageChoice = 'new' | 'existing' | 'none';
export type NetworkChoice = 'user' | 'network' | 'bridge' | 'none';
export type WizardStepId = 'source' | 'os' | 'storage' | 'finish';
/** Where a problem is shown: next to one of the wizard's fields, or in the summary. */
export type WizardField =
  | 'source'
  | 'isoPath'
  | 'importPath'
  | 'url'
  | 'kernel'
  | 'initrd'
  | 'cmdline'
  | 'osId'
  | 'memory'
  | 'vcpus'
  | 'storage'
  | 'name'
  | 'network'
  | 'general';

export const WIZARD_STEPS: readonly { id: WizardStepId; label: string; fields: readonly WizardField[] }[] = [
  { id: 'source', label: 'Install source', fields: ['source', 'isoPath', 'importPath', 'url', 'kernel', 'initrd', 'cmdline'] },
  { id: 'os', label: 'OS, memory and CPUs', fields: ['osId', 'memory', 'vcpus'] },
  { id: 'storage', label: 'Storage', fields: ['storage'] },
  { id: 'finish', label: 'Name, network and summary', fields: ['name', 'network', 'general'] },
];

export interface PortForwardRow {
  protocol: 'tcp' | 'udp';
  hostPort: number | undefined;
  guestPort: number | undefined;
}

export interface WizardProblem {
  field: WizardField;
  message: string;
  hint?: string;
}

export interface NewDiskRequest {
  sizeBytes: number;
}

const GIB = 1024 ** 3;
const PREVIEW_DEBOUNCE_MS = 250;

/**
 * The New-VM wizard's state: what the user chose (and only that), the definition input built
 * from it, and the engine's verdict on it from `vms.preview`, mapped onto the wizard's fields.
 * Defaults are never invented here: an untouched field is left out and the engine fills it.
 */
export class NewVmWizard {
  step = $state(0);
  source = $state<InstallSource>('iso');
  isoPath = $state('');
  importPath = $state('');
  importFormat = $state<'' | 'qcow2' | 'raw'>('');
  url = $state('');
  kernel = $state('');
  initrd = $state('');
  cmdline = $state('');
  osId = $state('');
  memoryMiB = $state<number | undefined>(undefined);
  vcpus = $state<number | undefined>(undefined);
  storage = $state<StorageChoice>('new');
  diskSizeGiB = $state<number | undefined>(undefined);
  existingDisk = $state('');
  name = $state('');
  network = $state<NetworkChoice>('user');
  networkName = $state('');
  bridgeName = $state('');
  portForwards = $state<PortForwardRow[]>([]);
  customize = $state(false);

  /** The engine's filled-in definition for the current choices (defaults shown as placeholders). */
  preview = $state<VmDefinition | undefined>(undefined);
  /** Problems from the last preview (or create), by field. */
  engineProblems = $state<WizardProblem[]>([]);
  previewing = $state(false);
  creating = $state(false);
  createError = $state<{ message: string; hint?: string } | undefined>(undefined);
  host = $state<HostOverview | undefined>(undefined);
  /** Fields the user has left at least once: their missing-value problems show from then on. */
  touched = $state<Partial<Record<WizardField, boolean>>>({});

  readonly #client: VirtdeskClient;
  readonly #existing: () => readonly VmSummary[];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #previewSeq = 0;

  constructor(client: VirtdeskClient, existing: () => readonly VmSummary[]) {
    this.#client = client;
    this.#existing = existing;
    client.api.host
      .overview({})
      .then((overview) => (this.host = overview))
      .catch(() => (this.host = undefined));
  }

  get stepId(): WizardStepId {
    return WIZARD_STEPS[this.step]!.id;
  }

  /** What the user must still fill in, before asking the engine anything. */
  get missing(): WizardProblem[] {
    const out: WizardProblem[] = [];
    if (this.source === 'iso' && !this.isoPath.trim()) out.push({ field: 'isoPath', message: 'Choose the ISO image to install from.' });
    if (this.source === 'import' && !this.importPath.trim()) out.push({ field: 'importPath', message: 'Choose the disk image to import.' });
    if (this.source === 'url') {
      out.push({
        field: 'url',
        message: 'Installing from a network URL needs the storage service to download the installer, and this host does not offer it yet.',
        hint: 'Download the ISO with `virtdesk iso download URL` and choose "Local install media".',
      });
    }
    if (this.source === 'kernel' && !this.kernel.trim()) out.push({ field: 'kernel', message: 'Choose the kernel to boot.' });
    if (this.storageApplies && this.storage === 'new' && this.diskSizeGiB === undefined) out.push({ field: 'storage', message: 'Enter the size of the new disk in GiB.' });
    if (this.storageApplies && this.storage === 'existing' && !this.existingDisk.trim()) out.push({ field: 'storage', message: 'Choose the existing disk image.' });
    if (this.network === 'network' && !this.networkName.trim()) out.push({ field: 'network', message: 'Enter the name of the virtual network.' });
    if (this.network === 'bridge' && !this.bridgeName.trim()) out.push({ field: 'network', message: 'Enter the name of the host bridge.' });
    if (this.portForwards.some((row) => row.hostPort === undefined || row.guestPort === undefined)) {
      out.push({ field: 'network', message: 'Every port forward needs a host port and a guest port.' });
    }
    if (!this.name.trim()) out.push({ field: 'name', message: 'Give the machine a name.' });
    return out;
  }

  /** An imported disk is the machine's storage; the storage step adds nothing then. */
  get storageApplies(): boolean {
    return this.source !== 'import';
  }

  /** Images the engine creates in the default pool (sent beside the definition input). */
  get newDisks(): NewDiskRequest[] {
    if (!this.storageApplies || this.storage !== 'new' || this.diskSizeGiB === undefined) return [];
    return [{ sizeBytes: Math.round(this.diskSizeGiB * GIB) }];
  }

  /** The definition input: exactly what the user chose, nothing the engine would default. */
  get input(): Record<string, unknown> {
    const input: Record<string, unknown> = {};
    // A placeholder keeps the preview useful before the user has named the machine.
    input.name = this.name !== '' ? this.name : (this.suggestedName() ?? 'new-vm');
    if (this.osId.trim()) input.osId = this.osId.trim();
    if (this.memoryMiB !== undefined) input.memory = { maximumMiB: this.memoryMiB };
    if (this.vcpus !== undefined) input.cpu = { vcpus: this.vcpus };
    const disks: Record<string, unknown>[] = [];
    switch (this.source) {
      case 'iso':
        if (this.isoPath.trim()) input.cdroms = [{ media: this.isoPath.trim() }];
        break;
      case 'import':
        if (this.importPath.trim()) disks.push({ source: this.importPath.trim(), ...(this.importFormat ? { format: this.importFormat } : {}) });
        break;
      case 'pxe':
        input.boot = { bootOnce: 'network' };
        break;
      case 'kernel':
        if (this.kernel.trim()) {
          input.directKernel = {
            kernel: this.kernel.trim(),
            ...(this.initrd.trim() ? { initrd: this.initrd.trim() } : {}),
            ...(this.cmdline ? { cmdline: this.cmdline } : {}),
          };
        }
        break;
      case 'url':
      case 'manual':
        break;
    }
    if (this.storageApplies && this.storage === 'existing' && this.existingDisk.trim()) disks.push({ source: this.existingDisk.trim() });
    if (disks.length > 0) input.disks = disks;
    const forwards = this.portForwards.flatMap((row) =>
      row.hostPort === undefined || row.guestPort === undefined ? [] : [{ protocol: row.protocol, hostPort: row.hostPort, guestPort: row.guestPort }],
    );
    switch (this.network) {
      case 'user':
        if (forwards.length > 0) input.nics = [{ network: { kind: 'user', portForwards: forwards } }];
        break;
      case 'network':
        input.nics = [{ network: { kind: 'network', name: this.networkName.trim() } }];
        break;
      case 'bridge':
        input.nics = [{ network: { kind: 'bridge', name: this.bridgeName.trim() } }];
        break;
      case 'none':
        input.nics = [];
        break;
    }
    return input;
  }

  /** A name from the OS or the install media, unique among existing VMs; only ever a suggestion. */
  suggestedName(): string | undefined {
    const base = (
      this.osId.trim() ||
      basename(this.source === 'iso' ? this.isoPath : this.source === 'import' ? this.importPath : this.source === 'kernel' ? this.kernel : '')
        .replace(/\.(iso|img|qcow2|raw)$/i, '')
    )
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[-.]+/, '')
      .slice(0, 48);
    if (!base) return undefined;
    const taken = this.#existing().map((vm) => vm.name);
    if (!taken.includes(base)) return base;
    for (let n = 2; ; n++) if (!taken.includes(`${base}-${n}`)) return `${base}-${n}`;
  }

  /** Missing values (once touched or once the user tried to go past them) and the engine's problems. */
  problemsFor(field: WizardField, all = false): WizardProblem[] {
    const missing = this.missing.filter((p) => p.field === field && (all || this.touched[field]));
    return [...missing, ...this.engineProblems.filter((p) => p.field === field)];
  }

  stepProblems(index: number): WizardProblem[] {
    const fields = WIZARD_STEPS[index]?.fields ?? [];
    return fields.flatMap((field) => this.problemsFor(field, true));
  }

  get allProblems(): WizardProblem[] {
    return WIZARD_STEPS.flatMap((_, index) => this.stepProblems(index));
  }

  get canCreate(): boolean {
    return !this.creating && !this.previewing && this.allProblems.length === 0 && this.preview !== undefined;
  }

  touch(field: WizardField): void {
    this.touched[field] = true;
  }

  /** Next refuses to leave a step with problems on it, and marks its fields so they show. */
  next(): boolean {
    for (const field of WIZARD_STEPS[this.step]!.fields) this.touched[field] = true;
    if (this.stepProblems(this.step).length > 0) return false;
    if (this.step < WIZARD_STEPS.length - 1) this.step++;
    if (this.stepId === 'finish' && this.name === '') this.name = this.suggestedName() ?? '';
    return true;
  }

  back(): void {
    if (this.step > 0) this.step--;
  }

  goTo(index: number): void {
    if (index >= 0 && index < WIZARD_STEPS.length) this.step = index;
    if (this.stepId === 'finish' && this.name === '') this.name = this.suggestedName() ?? '';
  }

  /** Asks the engine about the current choices after a pause in typing. */
  schedulePreview(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.runPreview(), PREVIEW_DEBOUNCE_MS);
  }

  async runPreview(): Promise<void> {
    const seq = ++this.#previewSeq;
    const input = this.input;
    this.previewing = true;
    try {
      const result = await this.#client.api.vms.preview({ input });
      if (seq !== this.#previewSeq) return;
      // Without a definition (the input does not parse) the last good one stays for the summary.
      if (result.definition) this.preview = result.definition;
      this.engineProblems = this.#withoutPlaceholderName(
        result.problems.map((problem) => toWizardProblem({ field: problem.field ?? '', message: problem.message, ...(problem.hint ? { hint: problem.hint } : {}) }, this.source)),
      );
    } catch (error) {
      if (seq !== this.#previewSeq) return;
      // The last good preview stays for the summary; Finish is held back by the problems.
      this.engineProblems = this.#withoutPlaceholderName(fieldProblems(error).map((problem) => toWizardProblem(problem, this.source)));
    } finally {
      if (seq === this.#previewSeq) this.previewing = false;
    }
  }

  /** Creates the VM; the caller starts it unless the user asked to customize first. */
  async create(): Promise<VmDetails | undefined> {
    this.creating = true;
    this.createError = undefined;
    try {
      const newDisks = this.newDisks;
      return await this.#client.api.vms.create({ input: this.input, ...(newDisks.length > 0 ? { newDisks } : {}) });
    } catch (error) {
      this.createError = errorText(error);
      const problems = fieldProblems(error).map((problem) => toWizardProblem(problem, this.source));
      if (problems.some((p) => p.field !== 'general')) this.engineProblems = problems;
      return undefined;
    } finally {
      this.creating = false;
    }
  }

  /** Until the user names the machine, the name the preview used is ours, and so are its problems. */
  #withoutPlaceholderName(problems: WizardProblem[]): WizardProblem[] {
    return this.name === '' ? problems.filter((problem) => problem.field !== 'name') : problems;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#previewSeq++;
  }
}

function basename(path: string): string {
  return path.trim().split('/').pop() ?? '';
}

/** Maps a definition path (`memory.maximumMiB`, `disks[0].source`) onto the wizard field that set it. */
export function wizardFieldOf(path: string, source: InstallSource): WizardField {
  const head = path.replace(/^input\./, '').split(/[.[]/)[0] ?? '';
  switch (head) {
    case 'name':
      return 'name';
    case 'osId':
      return 'osId';
    case 'memory':
      return 'memory';
    case 'cpu':
      return 'vcpus';
    case 'cdroms':
      return source === 'iso' ? 'isoPath' : 'general';
    case 'disks':
      return source === 'import' && path.startsWith('disks[0]') ? 'importPath' : 'storage';
    case 'directKernel':
      return path.includes('initrd') ? 'initrd' : path.includes('cmdline') ? 'cmdline' : 'kernel';
    case 'nics':
      return 'network';
    case 'boot':
      return 'source';
    default:
      return 'general';
  }
}

function toWizardProblem(problem: FieldProblem, source: InstallSource): WizardProblem {
  const field = problem.field ? wizardFieldOf(problem.field, source) : fieldOfProblemText(problem.message, source);
  return problem.hint ? { field, message: problem.message, hint: problem.hint } : { field, message: problem.message };
}

/** Problems without a field (a thrown error's plain message): place them by what they talk about. */
function fieldOfProblemText(message: string, source: InstallSource): WizardField {
  const text = message.toLowerCase();
  if (/\bvm name\b|\bnamed\b/.test(text)) return 'name';
  if (/\bmemory\b|\bmib\b/.test(text)) return 'memory';
  if (/\bvcpu|\bcpu\b|\bsockets\b|\bcores\b/.test(text)) return 'vcpus';
  if (/\bkernel\b/.test(text)) return 'kernel';
  if (/\binitrd\b/.test(text)) return 'initrd';
  if (/\biso\b|\bcd-?rom\b/.test(text)) return source === 'iso' ? 'isoPath' : 'general';
  if (/\bimage\b|\bdisk\b/.test(text)) return source === 'import' ? 'importPath' : 'storage';
  if (/\bnic\b|\bmac\b|\bnetwork\b|\bbridge\b|\bport\b|\blink\b/.test(text)) return 'network';
  if (/\bos id\b/.test(text)) return 'osId';
  return 'general';
}
