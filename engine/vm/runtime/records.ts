import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { VmRuntimePaths } from './paths';
import type { ExitReason } from '../states';

/**
 * Small JSON files beside a running VM so that any process (CLI, app, a new supervisor) can tell
 * what the one that started it decided, and why the last run ended.
 */

/** What the starter resolved; `<runDir>/runtime.json`, gone when the VM stops. */
export interface RuntimeRecord {
  pid: number;
  startedAt: string;
  accelerator: 'kvm' | 'tcg';
  acceleratorReason: string;
  cpuModel: string;
  cpuModelReason: string;
  /** Byte offset of this run's output in qemu.log: a crash message is looked for after it. */
  qemuLogOffset: number;
}

/** How the previous run ended; `vms/<id>/last-exit.json`, removed on the next start. */
export interface LastExit {
  pid: number | null;
  at: string;
  reason: ExitReason;
}

/** Left by whoever stops a VM on purpose, so the watcher of a vanished QEMU knows it was no crash. */
export interface StopIntent {
  pid: number;
  forced: boolean;
  at: string;
}

/** Replace-by-rename (readers never see half a file); no fsync: these are runtime hints, not data. */
async function writeJson(path: string, value: unknown): Promise<void> {
  // node:crypto loaded here, not imported: VM supervisors import this module and would all pay for it.
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}.tmp`);
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export const writeRuntimeRecord = (paths: VmRuntimePaths, record: RuntimeRecord) => writeJson(paths.runtimeRecord, record);
export const readRuntimeRecord = (paths: VmRuntimePaths) => readJson<RuntimeRecord>(paths.runtimeRecord);

export const writeLastExit = (paths: VmRuntimePaths, exit: LastExit) => writeJson(paths.lastExit, exit);
export const readLastExit = (paths: VmRuntimePaths) => readJson<LastExit>(paths.lastExit);
export const clearLastExit = (paths: VmRuntimePaths) => rm(paths.lastExit, { force: true });

export const writeStopIntent = (paths: VmRuntimePaths, intent: StopIntent) => writeJson(paths.stopIntent, intent);
export const readStopIntent = (paths: VmRuntimePaths) => readJson<StopIntent>(paths.stopIntent);
