import { homedir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../api/errors';
import { hostFacts, type HostFacts } from './host-facts';

/**
 * QEMU firmware descriptors (docs/interop/firmware.json): JSON files in these folders, lowest
 * priority first. A file in a later folder replaces one with the same name in an earlier folder;
 * an empty file masks it. Descriptors are then considered in file-name order.
 */
export function firmwareDescriptorDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return ['/usr/share/qemu/firmware', '/etc/qemu/firmware', join(configHome, 'qemu', 'firmware')];
}

export interface FirmwareDescriptor {
  /** The descriptor file. */
  path: string;
  description: string;
  interfaceTypes: string[];
  /** `flash` (pflash, what we use), `memory` or `kernel`. */
  device: string;
  executable: { filename: string; format: string };
  nvramTemplate?: { filename: string; format: string };
  targets: { architecture: string; machines: string[] }[];
  features: string[];
}

/** What the argv builder needs: the code image and the vars template each VM copies. */
export interface FirmwareChoice {
  code: string;
  codeFormat: string;
  varsTemplate: string;
  varsFormat: string;
  secureBoot: boolean;
  /** Secure Boot keys (Microsoft's) are already enrolled in the vars template. */
  enrolledKeys: boolean;
  /** The firmware needs `-machine smm=on` (and secure pflash); set for Secure Boot builds. */
  requiresSmm: boolean;
  descriptor: string;
  description: string;
}

export interface FirmwareRequest {
  /** A machine alias (`q35`, `pc`) or concrete type (`pc-q35-7.2`). */
  machine: string;
  secureBoot: boolean;
  architecture?: string;
}

/** Parses one descriptor; undefined (with the reason) when it is not one we can use at all. */
export function parseFirmwareDescriptor(path: string, text: string): { descriptor?: FirmwareDescriptor; problem?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON: ${(error as Error).message}` };
  }
  if (typeof json !== 'object' || json === null) return { problem: 'not a JSON object' };
  const d = json as Record<string, unknown>;
  const mapping = (d['mapping'] ?? {}) as Record<string, unknown>;
  const file = (value: unknown) => {
    const f = value as { filename?: unknown; format?: unknown } | undefined;
    return typeof f?.filename === 'string' ? { filename: f.filename, format: typeof f.format === 'string' ? f.format : 'raw' } : undefined;
  };
  const executable = file(mapping['executable']) ?? (typeof mapping['filename'] === 'string' ? { filename: mapping['filename'], format: 'raw' } : undefined);
  if (!executable) return { problem: 'no executable file in mapping' };
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const targets = (Array.isArray(d['targets']) ? d['targets'] : []).flatMap((t: unknown) => {
    const target = t as { architecture?: unknown; machines?: unknown };
    return typeof target.architecture === 'string' ? [{ architecture: target.architecture, machines: strings(target.machines) }] : [];
  });
  const descriptor: FirmwareDescriptor = {
    path,
    description: typeof d['description'] === 'string' ? d['description'] : '',
    interfaceTypes: strings(d['interface-types']),
    device: typeof mapping['device'] === 'string' ? mapping['device'] : '',
    executable,
    targets,
    features: strings(d['features']),
  };
  const nvram = file(mapping['nvram-template']);
  if (nvram) descriptor.nvramTemplate = nvram;
  return { descriptor };
}

/** Reads every descriptor the folders hold, in QEMU's precedence. Unreadable ones are reported in `skipped`. */
export async function readFirmwareDescriptors(
  facts: HostFacts = hostFacts(),
  dirs: readonly string[] = firmwareDescriptorDirs(),
): Promise<{ descriptors: FirmwareDescriptor[]; skipped: { path: string; problem: string }[] }> {
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    for (const name of (await facts.list(dir)) ?? []) {
      if (name.endsWith('.json')) byName.set(name, join(dir, name));
    }
  }
  const descriptors: FirmwareDescriptor[] = [];
  const skipped: { path: string; problem: string }[] = [];
  for (const name of [...byName.keys()].sort()) {
    const path = byName.get(name)!;
    const text = await facts.readText(path);
    if (text === undefined) {
      skipped.push({ path, problem: 'cannot be read' });
      continue;
    }
    if (text.trim() === '') continue; // masked on purpose
    const { descriptor, problem } = parseFirmwareDescriptor(path, text);
    if (descriptor) descriptors.push(descriptor);
    else skipped.push({ path, problem: problem ?? 'unusable' });
  }
  return { descriptors, skipped };
}

/** `q35` → a name matching `pc-q35-*`; `pc` → `pc-i440fx-*`; concrete names pass through. */
function concreteMachine(machine: string): string {
  if (machine === 'q35') return 'pc-q35-latest';
  if (machine === 'pc') return 'pc-i440fx-latest';
  return machine;
}

function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(value);
}

/** Features we cannot (yet) provide; a descriptor needing one is never picked. */
const UNSUPPORTED_FEATURES = ['amd-sev-es', 'amd-sev-snp', 'intel-tdx', 'requires-smm-off'];

/**
 * Picks the UEFI firmware for a machine the way libvirt does: the first descriptor (in
 * precedence order) for x86_64 flash with an NVRAM template that matches the machine and the
 * Secure Boot wish. Secure Boot prefers enrolled keys (what Windows 11 expects).
 */
export function pickUefiFirmware(descriptors: readonly FirmwareDescriptor[], request: FirmwareRequest): FirmwareChoice | undefined {
  const machine = concreteMachine(request.machine);
  const arch = request.architecture ?? 'x86_64';
  const usable = descriptors.filter(
    (d) =>
      d.interfaceTypes.includes('uefi') &&
      d.device === 'flash' &&
      d.nvramTemplate !== undefined &&
      d.targets.some((t) => t.architecture === arch && t.machines.some((m) => globMatches(m, machine))) &&
      !d.features.some((f) => UNSUPPORTED_FEATURES.includes(f)) &&
      d.features.includes('secure-boot') === request.secureBoot,
  );
  const ranked = request.secureBoot ? [...usable.filter((d) => d.features.includes('enrolled-keys')), ...usable.filter((d) => !d.features.includes('enrolled-keys'))] : usable;
  const chosen = ranked[0];
  if (!chosen) return undefined;
  return {
    code: chosen.executable.filename,
    codeFormat: chosen.executable.format,
    varsTemplate: chosen.nvramTemplate!.filename,
    varsFormat: chosen.nvramTemplate!.format,
    secureBoot: chosen.features.includes('secure-boot'),
    enrolledKeys: chosen.features.includes('enrolled-keys'),
    requiresSmm: chosen.features.includes('requires-smm'),
    descriptor: chosen.path,
    description: chosen.description,
  };
}

export const OVMF_INSTALL_HINT = 'Install OVMF: `sudo apt install ovmf` (Debian/Ubuntu), `sudo dnf install edk2-ovmf` (Fedora) or `sudo pacman -S edk2-ovmf` (Arch).';

/** The UEFI firmware for a request, with its files checked on disk; a clear error when there is none. */
export async function findUefiFirmware(request: FirmwareRequest, facts: HostFacts = hostFacts(), dirs?: readonly string[]): Promise<FirmwareChoice> {
  if (request.secureBoot && request.machine !== 'q35' && !request.machine.startsWith('pc-q35')) {
    throw new EngineError('invalid-argument', `UEFI Secure Boot needs the q35 machine type, not ${request.machine}`, {
      hint: 'Choose machine type q35, or turn Secure Boot off.',
    });
  }
  const { descriptors } = await readFirmwareDescriptors(facts, dirs ?? firmwareDescriptorDirs());
  const present: FirmwareDescriptor[] = [];
  for (const d of descriptors) {
    if ((await facts.exists(d.executable.filename)) && (d.nvramTemplate === undefined || (await facts.exists(d.nvramTemplate.filename)))) present.push(d);
  }
  const choice = pickUefiFirmware(present, request);
  if (choice) return choice;
  const what = `UEFI firmware${request.secureBoot ? ' with Secure Boot' : ''} for ${request.machine}`;
  throw new EngineError('unavailable', descriptors.length === 0 ? `No ${what}: no QEMU firmware descriptors were found` : `No ${what} is installed`, {
    hint: descriptors.length === 0 ? OVMF_INSTALL_HINT : `${OVMF_INSTALL_HINT} Or choose BIOS firmware.`,
    details: { request, descriptors: descriptors.map((d) => d.path) },
  });
}
