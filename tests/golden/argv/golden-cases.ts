// Golden argv cases: tests/golden/argv/<case>.json (definition input + resolved inputs) and the
// expected command line in <case>.args, one argument per line. Shared by the golden test and the
// integration test that runs every case through real QEMU.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVmDefinition, type VmDefinition, type VmDefinitionInput } from '../../../engine/model';
import type { ArgvInput, ArgvOptions, NicBackend, ResolvedFirmware, RuntimePaths } from '../../../engine/qemu/argv';

export const GOLDEN_DIR = fileURLToPath(new URL('.', import.meta.url));

export interface GoldenCaseSpec {
  description: string;
  definition: VmDefinitionInput;
  accel: 'kvm' | 'tcg';
  cpuModel: string;
  firmware?: ResolvedFirmware;
  nicBackends?: Record<string, NicBackend>;
  options?: ArgvOptions;
}

export interface GoldenCase {
  name: string;
  jsonFile: string;
  argsFile: string;
  spec: GoldenCaseSpec;
}

export function loadGoldenCases(): GoldenCase[] {
  return readdirSync(GOLDEN_DIR)
    .filter((file) => /^\d\d-.*\.json$/.test(file))
    .sort()
    .map((file) => {
      const name = file.replace(/\.json$/, '');
      const jsonFile = join(GOLDEN_DIR, file);
      return { name, jsonFile, argsFile: join(GOLDEN_DIR, `${name}.args`), spec: JSON.parse(readFileSync(jsonFile, 'utf8')) as GoldenCaseSpec };
    });
}

/** The runtime paths engine/vm would use for this VM (fixed, so golden files are stable). */
export function goldenRuntimePaths(runDir: string, dataDir: string): RuntimePaths {
  return {
    runDir,
    qmpSocket: join(runDir, 'qmp.sock'),
    qmpCommandSocket: join(runDir, 'qmp-cmd.sock'),
    vncSocket: join(runDir, 'vnc.sock'),
    serialSocket: join(runDir, 'serial.sock'),
    pidFile: join(runDir, 'qemu.pid'),
    serialLog: join(dataDir, 'serial.log'),
  };
}

export function goldenDevices(): ReadonlySet<string> {
  const fixture = JSON.parse(readFileSync(join(GOLDEN_DIR, 'qemu-7.2-devices.json'), 'utf8')) as { devices: string[] };
  return new Set(fixture.devices);
}

export function goldenDefinition(spec: GoldenCaseSpec): VmDefinition {
  return createVmDefinition(spec.definition);
}

/** The argv input of a case; `paths` defaults to /run/user/1000/virtdesk/<id>. */
export function goldenArgvInput(spec: GoldenCaseSpec, definition = goldenDefinition(spec), paths?: RuntimePaths): ArgvInput {
  return {
    definition,
    accel: spec.accel,
    cpuModel: spec.cpuModel,
    paths: paths ?? goldenRuntimePaths(`/run/user/1000/virtdesk/${definition.id}`, `/home/user/.local/share/virtdesk/vms/${definition.id}`),
    caps: { devices: goldenDevices() },
    ...(spec.firmware ? { firmware: spec.firmware } : {}),
    ...(spec.nicBackends ? { nicBackends: spec.nicBackends } : {}),
    ...(spec.options ? { options: spec.options } : {}),
  };
}
