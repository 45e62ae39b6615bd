import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { chooseCpuModel, cpuModelCandidates } from '../../../engine/host/cpu-model';

/** Which -cpu values started on the recording host (kvm_pvm: `host` aborts on MSR 0x10a). */
const recorded = JSON.parse(readFileSync(new URL('../../fixtures/qemu/cpu-fallback-7.2-kvm_pvm.json', import.meta.url), 'utf8')) as {
  kvm: { attempts: { model: string; ok: boolean; error?: string }[] };
};

/** Replays the recorded outcomes: models that failed there fail here with the same message. */
function replay(outcomes: { model: string; ok: boolean; error?: string }[], tried: string[]) {
  return async (model: string) => {
    tried.push(model);
    const outcome = outcomes.find((o) => o.model === model);
    if (outcome && !outcome.ok) throw new EngineError('qemu-error', outcome.error ?? 'failed');
  };
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('cpuModelCandidates', () => {
  it('walks host → host,-arch-capabilities → max → qemu64 under KVM and starts at max under TCG', () => {
    expect(cpuModelCandidates('kvm')).toEqual(['host', 'host,-arch-capabilities', 'max', 'qemu64']);
    expect(cpuModelCandidates('kvm', 'host-passthrough')).toEqual(['host', 'host,-arch-capabilities', 'max', 'qemu64']);
    expect(cpuModelCandidates('tcg')).toEqual(['max', 'qemu64']);
    expect(cpuModelCandidates('tcg', 'Skylake-Client')).toEqual(['Skylake-Client']);
  });

  it('refuses host-passthrough under TCG', () => {
    expect(() => cpuModelCandidates('tcg', 'host-passthrough')).toThrow(/needs KVM/);
  });
});

describe('chooseCpuModel', () => {
  it('falls back past `host` on the recorded PVM host and says why', async () => {
    const tried: string[] = [];
    const choice = await chooseCpuModel({ binary: '/bin/true', accel: 'kvm', home: null, tryModel: replay(recorded.kvm.attempts, tried) });
    expect(tried).toEqual(['host', 'host,-arch-capabilities']);
    expect(choice.model).toBe('host,-arch-capabilities');
    expect(choice.attempts[0]).toMatchObject({ model: 'host', ok: false });
    expect(choice.attempts[0]!.error).toContain('failed to set MSR 0x10a');
    expect(choice.reason).toMatch(/^-cpu host,-arch-capabilities under KVM, because host failed \(.*MSR 0x10a/);
  });

  it('goes down to qemu64 when nothing better starts', async () => {
    const tried: string[] = [];
    const fails = ['host', 'host,-arch-capabilities', 'max'].map((model) => ({ model, ok: false, error: `${model} broke` }));
    const choice = await chooseCpuModel({ binary: '/bin/true', accel: 'kvm', home: null, tryModel: replay(fails, tried) });
    expect(choice.model).toBe('qemu64');
    expect(choice.attempts.map((a) => a.ok)).toEqual([false, false, false, true]);
  });

  it('fails with every attempt named when no model starts', async () => {
    const error = (await chooseCpuModel({
      binary: '/bin/true',
      accel: 'tcg',
      home: null,
      tryModel: async (model) => {
        throw new EngineError('qemu-error', `${model}: no`);
      },
    }).catch((e: unknown) => e)) as EngineError;
    expect(error.code).toBe('qemu-error');
    expect(error.message).toBe('No CPU model starts under TCG: max (max: no); qemu64 (qemu64: no)');
  });

  it('a named model is tried alone', async () => {
    const error = (await chooseCpuModel({
      binary: '/bin/true',
      accel: 'tcg',
      requested: 'NoSuchCpu',
      home: null,
      tryModel: async () => {
        throw new EngineError('qemu-error', "unable to find CPU model 'NoSuchCpu'");
      },
    }).catch((e: unknown) => e)) as EngineError;
    expect(error.message).toBe(`CPU model "NoSuchCpu" does not start under TCG: unable to find CPU model 'NoSuchCpu'`);
    expect(error.hint).toContain('"default"');
  });

  it('does not swallow errors that are not QEMU refusing the model', async () => {
    const attempt = chooseCpuModel({ binary: '/bin/true', accel: 'tcg', home: null, tryModel: async () => Promise.reject(new Error('bug')) });
    await expect(attempt).rejects.toThrow('bug');
  });

  it('caches the choice per binary and accelerator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vd-cpu-'));
    dirs.push(dir);
    const binary = join(dir, 'qemu');
    await writeFile(binary, '');
    const tried: string[] = [];
    const tryModel = replay(recorded.kvm.attempts, tried);
    const first = await chooseCpuModel({ binary, accel: 'kvm', home: dir, tryModel });
    const second = await chooseCpuModel({ binary, accel: 'kvm', home: dir, tryModel });
    expect(second).toEqual(first);
    expect(tried).toEqual(['host', 'host,-arch-capabilities']);
    await chooseCpuModel({ binary, accel: 'tcg', home: dir, tryModel });
    expect(tried).toEqual(['host', 'host,-arch-capabilities', 'max']);
    await chooseCpuModel({ binary, accel: 'kvm', home: dir, tryModel, refresh: true });
    expect(tried).toHaveLength(5);
  });
});
