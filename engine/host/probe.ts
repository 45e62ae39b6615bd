import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EngineError } from '../api/errors';
import { accelHelpArgv, capabilityProbeArgv } from '../qemu/argv/probe';
import type { QmpCpuDefinitionInfo, QmpMachineInfo, QmpObjectTypeInfo, QmpVersionInfo } from '../qemu/qmp/commands';
import type { QmpClient } from '../qemu/qmp/client';
import { withBriefQemu } from './brief-qemu';

const execFileAsync = promisify(execFile);

export type QemuAccelerator = 'kvm' | 'tcg';

export interface QemuMachineType {
  /** Concrete versioned name, e.g. `pc-q35-7.2`. */
  name: string;
  /** Unversioned alias pointing at it, e.g. `q35`. */
  alias?: string;
  isDefault: boolean;
  deprecated: boolean;
  maxCpus: number;
  defaultCpuType?: string;
}

export interface QemuCpuModel {
  name: string;
  aliasOf?: string;
  deprecated: boolean;
  /** Whether TCG can emulate every feature of the model (probed under `-accel tcg`). */
  usableUnderTcg: boolean;
}

/** What one QEMU binary can do, probed through QMP. Gate features on this, not on the version. */
export interface QemuCapabilities {
  binary: string;
  /** The binary's mtime when probed; a changed binary means a new probe. */
  mtimeMs: number;
  version: { major: number; minor: number; micro: number; text: string };
  machines: QemuMachineType[];
  cpuModels: QemuCpuModel[];
  /** Non-abstract QOM types implementing `device` (what `-device`/`device_add` accept). */
  devices: string[];
  /** Accelerators compiled into the binary (`-accel help`). */
  accelerators: QemuAccelerator[];
  /** QMP commands the binary offers. */
  qmpCommands: string[];
}

export interface RawProbe {
  version: QmpVersionInfo;
  machines: QmpMachineInfo[];
  cpuDefinitions: QmpCpuDefinitionInfo[];
  deviceTypes: QmpObjectTypeInfo[];
  commands: { name: string }[];
  accelHelp: string;
}

/** Asks the binary everything `QemuCapabilities` holds. Pure I/O; `parseCapabilities` does the rest. */
export async function probeRaw(binary: string, timeoutMs = 60_000): Promise<RawProbe> {
  const accelHelp = await runAccelHelp(binary, timeoutMs);
  return withBriefQemu(
    binary,
    capabilityProbeArgv(),
    async (qmp: QmpClient) => ({
      version: await qmp.queryVersion(),
      machines: await qmp.queryMachines(),
      cpuDefinitions: await qmp.queryCpuDefinitions(),
      deviceTypes: await qmp.listTypes('device', false),
      commands: (await qmp.queryCommands()).map((name) => ({ name })),
      accelHelp,
    }),
    { timeoutMs },
  );
}

async function runAccelHelp(binary: string, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileAsync(binary, accelHelpArgv(), { timeout: timeoutMs });
    return stdout;
  } catch (error) {
    throw new EngineError('qemu-error', `${binary} -accel help failed: ${error instanceof Error ? error.message : String(error)}`, {
      details: { binary },
      cause: error,
    });
  }
}

/** `-accel help` lists one accelerator per line after a header. */
export function parseAccelHelp(text: string): QemuAccelerator[] {
  const found = new Set<QemuAccelerator>();
  for (const line of text.split('\n')) {
    const word = line.trim();
    if (word === 'kvm' || word === 'tcg') found.add(word);
  }
  return [...found].sort();
}

export function parseCapabilities(raw: RawProbe, binary: string, mtimeMs: number): QemuCapabilities {
  const { major, minor, micro } = raw.version.qemu;
  const text = `${major}.${minor}.${micro}${raw.version.package ? ` (${raw.version.package.trim()})` : ''}`;
  const machines = raw.machines
    .map((m): QemuMachineType => {
      const machine: QemuMachineType = { name: m.name, isDefault: m['is-default'] === true, deprecated: m.deprecated === true, maxCpus: m['cpu-max'] };
      if (m.alias !== undefined) machine.alias = m.alias;
      if (m['default-cpu-type'] !== undefined) machine.defaultCpuType = m['default-cpu-type'];
      return machine;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  const cpuModels = raw.cpuDefinitions
    .map((c): QemuCpuModel => {
      const model: QemuCpuModel = { name: c.name, deprecated: c.deprecated === true, usableUnderTcg: (c['unavailable-features'] ?? []).length === 0 };
      if (c['alias-of'] !== undefined) model.aliasOf = c['alias-of'];
      return model;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    binary,
    mtimeMs,
    version: { major, minor, micro, text },
    machines,
    cpuModels,
    devices: raw.deviceTypes.filter((t) => t.abstract !== true).map((t) => t.name).sort(),
    accelerators: parseAccelHelp(raw.accelHelp),
    qmpCommands: raw.commands.map((c) => c.name).sort(),
  };
}

/** The concrete machine type an alias (`q35`, `pc`) names in this binary, if any. */
export function resolveMachine(caps: Pick<QemuCapabilities, 'machines'>, nameOrAlias: string): QemuMachineType | undefined {
  return caps.machines.find((m) => m.alias === nameOrAlias) ?? caps.machines.find((m) => m.name === nameOrAlias);
}

export function hasDevice(caps: Pick<QemuCapabilities, 'devices'>, driver: string): boolean {
  return caps.devices.includes(driver);
}

export function hasCpuModel(caps: Pick<QemuCapabilities, 'cpuModels'>, name: string): boolean {
  return caps.cpuModels.some((model) => model.name === name);
}
