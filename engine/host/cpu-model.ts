import { readFile, stat } from 'node:fs/promises';
import { release } from 'node:os';
import { EngineError } from '../api/errors';
import { virtdeskHome } from '../paths';
import { cpuModelProbeArgv } from '../qemu/argv/probe';
import { withBriefQemu } from './brief-qemu';
import { hostCachePath, readHostCache, writeHostCache } from './cache-file';
import type { QemuAccelerator } from './probe';

/** Under KVM: the host CPU as is, then without the MSR some hosts refuse, then QEMU's best, then a baseline. */
export const KVM_CPU_FALLBACKS = ['host', 'host,-arch-capabilities', 'max', 'qemu64'] as const;
/** Under TCG `host` does not exist: QEMU's full emulated CPU, then a baseline. */
export const TCG_CPU_FALLBACKS = ['max', 'qemu64'] as const;

export interface CpuModelAttempt {
  /** The `-cpu` value tried. */
  model: string;
  ok: boolean;
  /** QEMU's own words when it did not start. */
  error?: string;
}

export interface CpuModelChoice {
  /** The `-cpu` value to use. */
  model: string;
  accel: QemuAccelerator;
  /** Every candidate tried, in order, up to and including the one that started. */
  attempts: CpuModelAttempt[];
  /** One line: what was chosen and why the ones before failed. */
  reason: string;
}

export interface ChooseCpuModelOptions {
  binary: string;
  accel: QemuAccelerator;
  /** `default` / `host-passthrough` (the fallback chain) or a named QEMU model (only that one). */
  requested?: string;
  /** Machine type to start (q35 unless given). */
  machine?: string;
  /** Data folder holding `cache/`; no caching when null. */
  home?: string | null;
  refresh?: boolean;
  /** Budget per attempt. */
  timeoutMs?: number;
  /** Replaces the real start (tests): resolves when the model starts, rejects with QEMU's message. */
  tryModel?: (model: string) => Promise<void>;
}

/** Which `-cpu` values to try, in order. */
export function cpuModelCandidates(accel: QemuAccelerator, requested = 'default'): string[] {
  if (requested === 'default' || requested === 'host-passthrough') {
    if (accel === 'tcg') {
      if (requested === 'host-passthrough') {
        throw new EngineError('invalid-argument', 'CPU model "host-passthrough" needs KVM, and this VM runs under TCG', {
          hint: 'Choose CPU model "default" (QEMU\'s "max" under TCG) or a named model such as Skylake-Client.',
        });
      }
      return [...TCG_CPU_FALLBACKS];
    }
    return [...KVM_CPU_FALLBACKS];
  }
  return [requested];
}

/** Starts QEMU paused with `-cpu model`, long enough for QMP to answer, and quits it. */
export function tryCpuModel(binary: string, accel: QemuAccelerator, model: string, machine = 'q35', timeoutMs = 60_000): Promise<void> {
  return withBriefQemu(
    binary,
    cpuModelProbeArgv(accel, machine, model),
    async (qmp) => {
      // vCPUs exist (and their MSRs were set) once QMP lists them.
      const cpus = await qmp.queryCpusFast();
      if (cpus.length === 0) throw new EngineError('qemu-error', `QEMU started with -cpu ${model} but reports no vCPUs`);
    },
    { timeoutMs },
  );
}

/** Whatever about the host could change which models start: kernel, CPU, QEMU binary. */
async function hostCpuKey(binary: string, accel: QemuAccelerator, machine: string): Promise<string> {
  const { mtimeMs } = await stat(binary);
  const cpuinfo = (await readFile('/proc/cpuinfo', 'utf8').catch(() => '')).split('\n');
  const modelName = cpuinfo.find((line) => line.startsWith('model name')) ?? '';
  const flags = cpuinfo.find((line) => line.startsWith('flags')) ?? '';
  return JSON.stringify({ binary, mtimeMs, accel, machine, kernel: release(), modelName, flags });
}

/**
 * Finds the first CPU model from the fallback chain that QEMU actually starts with, caching the
 * answer per binary, accelerator, kernel and CPU. Throws `qemu-error` when none starts.
 */
export async function chooseCpuModel(options: ChooseCpuModelOptions): Promise<CpuModelChoice> {
  const machine = options.machine ?? 'q35';
  const requested = options.requested ?? 'default';
  const candidates = cpuModelCandidates(options.accel, requested);
  const home = options.home === undefined ? virtdeskHome() : options.home;
  const useCache = home !== null;
  const key = useCache ? `${await hostCpuKey(options.binary, options.accel, machine)}|${requested}` : '';
  const cachePath = useCache ? hostCachePath(home, 'cpu-model', key) : '';
  if (useCache && !options.refresh) {
    const cached = await readHostCache<CpuModelChoice & { key: string }>(cachePath, (value) => value.key === key);
    if (cached) {
      const { key: _key, ...choice } = cached;
      return choice;
    }
  }

  const tryModel = options.tryModel ?? ((model: string) => tryCpuModel(options.binary, options.accel, model, machine, options.timeoutMs));
  const attempts: CpuModelAttempt[] = [];
  for (const model of candidates) {
    try {
      await tryModel(model);
      attempts.push({ model, ok: true });
      const choice: CpuModelChoice = { model, accel: options.accel, attempts, reason: describeChoice(model, options.accel, attempts) };
      if (useCache) await writeHostCache(cachePath, { ...choice, key });
      return choice;
    } catch (error) {
      if (!(error instanceof EngineError) || (error.code !== 'qemu-error' && error.code !== 'timeout')) throw error;
      attempts.push({ model, ok: false, error: error.message });
    }
  }
  const under = options.accel.toUpperCase();
  const message =
    attempts.length === 1
      ? `CPU model "${attempts[0]!.model}" does not start under ${under}: ${attempts[0]!.error}`
      : `No CPU model starts under ${under}: ${attempts.map((a) => `${a.model} (${a.error})`).join('; ')}`;
  throw new EngineError('qemu-error', message, {
    hint: requested === 'default' ? 'Check `virtdesk host check` and QEMU\'s installation.' : `Choose CPU model "default" instead of "${requested}".`,
    details: { attempts },
  });
}

function describeChoice(model: string, accel: QemuAccelerator, attempts: readonly CpuModelAttempt[]): string {
  const failed = attempts.filter((a) => !a.ok);
  const under = `under ${accel.toUpperCase()}`;
  if (failed.length === 0) return `-cpu ${model} starts ${under}`;
  return `-cpu ${model} ${under}, because ${failed.map((a) => `${a.model} failed (${a.error})`).join('; ')}`;
}
