import type { VmDetails, VmSummary } from '../../../../engine/api/vm-api';
import { errorText, problemsOf } from '../common/errors';
import type { VmDefinition } from '../machines/types';
import type { VirtdeskClient } from '../api/client';
import { detectedOs, WizardCatalog, type KnownOs } from './wizard-catalog.svelte';
import { toWizardProblem, WIZARD_STEPS, type InstallSource, type WizardField, type WizardProblem, type WizardStepId } from './wizard-fields';
import { newDiskOf, storageApplies, suggestName, toDefinitionInput, type NetworkChoice, type PortForwardRow, type StorageChoice, type WizardChoices } from './wizard-input';

export { WIZARD_STEPS, type InstallSource, type NetworkChoice, type PortForwardRow, type StorageChoice, type WizardField, type WizardProblem, type WizardStepId };

/** Long steps of Finish (download, new image, create), for the progress line. */
export interface WizardProgress {
  what: string;
  done?: number;
  total?: number | null;
}

export interface IsoDetection {
  path: string;
  state: 'detecting' | 'done' | 'failed';
  os?: KnownOs;
  /** Why nothing was detected, or why detection failed. */
  message?: string;
}

const GIB = 1024 ** 3;
const PREVIEW_DEBOUNCE_MS = 250;
const DETECT_DEBOUNCE_MS = 400;
/** Installer ISOs are large; a download may take long on a slow link (the user can cancel). */
const DOWNLOAD_TIMEOUT_MS = 6 * 60 * 60_000;

/**
 * The New-VM wizard's state: what the user chose (and only that), the definition input built
 * from it, and the engine's verdict on it from `vms.preview`, mapped onto the wizard's fields.
 * Defaults are never invented here: an untouched field is left out and the engine fills it.
 */
export class NewVmWizard implements WizardChoices {
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
  /** The pool for a new disk; undefined means the one the preferences name. */
  pool = $state<string | undefined>(undefined);
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
  /** Fields the user has left at least once: their missing-value problems show from then on. */
  touched = $state<Partial<Record<WizardField, boolean>>>({});
  /** What the engine found on the chosen ISO. */
  detection = $state<IsoDetection | undefined>(undefined);
  /** The osinfo entry of the chosen OS: its recommended resources fill memory, vCPUs and disk size. */
  os = $state<KnownOs | undefined>(undefined);
  /** Whether the OS id came from the user or from detecting the media (detection never overrides the user). */
  osFrom = $state<'user' | 'detection' | undefined>(undefined);
  progress = $state<WizardProgress | undefined>(undefined);
  readonly catalog: WizardCatalog;

  readonly #client: VirtdeskClient;
  readonly #existing: () => readonly VmSummary[];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #detectTimer: ReturnType<typeof setTimeout> | undefined;
  #previewSeq = 0;
  #detectSeq = 0;
  #osSeq = 0;
  #abort: AbortController | undefined;

  constructor(client: VirtdeskClient, existing: () => readonly VmSummary[]) {
    this.#client = client;
    this.#existing = existing;
    this.catalog = new WizardCatalog(client);
  }

  get host() {
    return this.catalog.host;
  }

  /** The pool a new disk goes to: the user's choice, else the preferences' default pool. */
  get targetPool(): string | undefined {
    return this.pool ?? this.catalog.defaultPool;
  }

  /** Resources the chosen OS recommends, within what the host allows. */
  get recommended(): { memoryMiB?: number; vcpus?: number; diskGiB?: number } {
    const hint = this.os?.recommended ?? {};
    const limits = this.catalog.host?.limits;
    const out: { memoryMiB?: number; vcpus?: number; diskGiB?: number } = {};
    if (hint.memoryMiB !== undefined) out.memoryMiB = limits ? Math.min(hint.memoryMiB, limits.maxMemoryMiB) : hint.memoryMiB;
    if (hint.vcpus !== undefined) out.vcpus = limits ? Math.min(hint.vcpus, limits.maxVcpus) : hint.vcpus;
    if (hint.diskBytes !== undefined) out.diskGiB = Math.ceil(hint.diskBytes / GIB);
    return out;
  }

  get effectiveDiskGiB(): number | undefined {
    return this.diskSizeGiB ?? this.recommended.diskGiB;
  }

  /** The user typed an OS id: it is theirs from now on. */
  setOsId(value: string): void {
    this.osId = value;
    this.osFrom = value.trim() ? 'user' : undefined;
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
      const url = this.url.trim();
      if (!url) out.push({ field: 'url', message: 'Enter the URL of the installer ISO.' });
      else if (!/^https?:\/\/\S+$/i.test(url)) out.push({ field: 'url', message: 'The URL must start with http:// or https://.' });
      else if (!/\.iso(\?.*)?$/i.test(url)) {
        out.push({
          field: 'url',
          message: 'Only ISO images can be installed from the network: the URL must name an .iso file.',
          hint: 'Distribution install trees (a kernel and initrd on a mirror) are not supported; use the distribution’s netinst ISO URL.',
        });
      }
    }
    if (this.source === 'kernel' && !this.kernel.trim()) out.push({ field: 'kernel', message: 'Choose the kernel to boot.' });
    if (this.storageApplies && this.storage === 'new' && this.effectiveDiskGiB === undefined) out.push({ field: 'storage', message: 'Enter the size of the new disk in GiB.' });
    if (this.storageApplies && this.storage === 'new' && !this.targetPool) out.push({ field: 'storage', message: 'Choose the storage pool for the new disk.' });
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
    return storageApplies(this);
  }

  /** The image Finish asks the engine to create (in the chosen pool), if any. */
  get newDisk(): { pool: string; sizeBytes: number } | undefined {
    return newDiskOf(this)?.create;
  }

  /** The definition input: exactly what the user chose, nothing the engine would default. */
  get input() {
    // The suggestion keeps the preview close to what Finish will create before the user names the machine.
    return toDefinitionInput(this, this.name !== '' ? this.name : this.suggestedName());
  }

  /** A name from the OS or the install media, unique among existing VMs; only ever a suggestion. */
  suggestedName(): string | undefined {
    return suggestName(this, this.#existing().map((vm) => vm.name));
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
      this.engineProblems = this.#withoutPlaceholderName(result.problems.map((problem) => toWizardProblem(problem, this.source)));
    } catch (error) {
      if (seq !== this.#previewSeq) return;
      // The last good preview stays for the summary; Finish is held back by the problems.
      this.engineProblems = this.#withoutPlaceholderName(problemsOf(error).map((problem) => toWizardProblem(problem, this.source)));
    } finally {
      if (seq === this.#previewSeq) this.previewing = false;
    }
  }

  /** The ISO (typed or from the library) changed: ask the engine what is on it, after a pause. */
  scheduleDetect(): void {
    clearTimeout(this.#detectTimer);
    const path = this.source === 'iso' ? this.isoPath.trim() : '';
    if (!path.startsWith('/')) {
      this.#detectSeq++;
      this.detection = undefined;
      return;
    }
    if (this.detection?.path === path) return;
    this.#detectTimer = setTimeout(() => void this.#detect(path), DETECT_DEBOUNCE_MS);
  }

  async #detect(path: string): Promise<void> {
    const seq = ++this.#detectSeq;
    this.detection = { path, state: 'detecting' };
    try {
      const result = await this.catalog.detectIso(path);
      if (seq !== this.#detectSeq) return;
      const os = detectedOs(result);
      this.detection = os ? { path, state: 'done', os } : { path, state: 'done', message: 'reason' in result ? result.reason : 'The OS on this media is not known.' };
      if (os && this.osFrom !== 'user') {
        this.osId = os.osId;
        this.osFrom = 'detection';
      }
    } catch (error) {
      if (seq !== this.#detectSeq) return;
      this.detection = { path, state: 'failed', message: errorText(error).message };
    }
  }

  /** The OS id changed: find its osinfo entry for the recommended resources. */
  async lookupOs(): Promise<void> {
    const osId = this.osId.trim();
    const seq = ++this.#osSeq;
    if (!osId) {
      this.os = undefined;
      return;
    }
    if (this.detection?.os?.osId === osId) {
      this.os = this.detection.os;
      return;
    }
    const os = await this.catalog.lookupOs(osId);
    if (seq === this.#osSeq) this.os = os;
  }

  /**
   * Finish, in one engine call: it downloads the installer for a network install, creates the
   * new disk image in its pool, then the VM, and removes what it made if a later step fails.
   * The caller starts the VM unless the user asked to customize first.
   */
  async create(): Promise<VmDetails | undefined> {
    this.creating = true;
    this.createError = undefined;
    const abort = (this.#abort = new AbortController());
    const downloading = this.source === 'url';
    const operationId = downloading ? `wizard-${Date.now()}` : undefined;
    this.progress = downloading ? { what: 'Downloading the installer', done: 0, total: null } : { what: this.newDisk ? 'Creating the disk image and the machine' : 'Creating the machine' };
    const stopProgress = this.#client.on('storage.progress', (event) => {
      if (event.operationId !== operationId) return;
      this.progress = event.total !== null && event.done >= event.total ? { what: 'Creating the machine' } : { what: 'Downloading the installer', done: event.done, total: event.total };
    });
    try {
      const input = { ...this.input, name: this.name };
      return await this.#client.api.vms.create({ input, ...(operationId ? { operationId } : {}) }, { signal: abort.signal, ...(downloading ? { timeoutMs: DOWNLOAD_TIMEOUT_MS } : {}) });
    } catch (error) {
      this.createError = errorText(error);
      const problems = problemsOf(error).map((problem) => toWizardProblem(problem, this.source));
      if (problems.some((p) => p.field !== 'general')) this.engineProblems = problems;
      return undefined;
    } finally {
      stopProgress();
      this.progress = undefined;
      this.creating = false;
      this.#abort = undefined;
    }
  }

  /** Stops a running Finish (a download, mostly); the engine cancels the operation. */
  cancelCreate(): void {
    this.#abort?.abort();
  }

  /** Until the user names the machine, the name the preview used is ours, and so are its problems. */
  #withoutPlaceholderName(problems: WizardProblem[]): WizardProblem[] {
    return this.name === '' ? problems.filter((problem) => problem.field !== 'name') : problems;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#detectTimer);
    this.#previewSeq++;
    this.#detectSeq++;
    this.#osSeq++;
    this.#abort?.abort();
    this.catalog.dispose();
  }
}
