import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVmDefinition, type VmDefinition } from '../engine/model';
import { createImage } from '../engine/storage/qemu-img';
import { StorageService } from '../engine/storage/storage-service';
import { stopVm } from '../engine/vm/ops/control';
import { startVm } from '../engine/vm/ops/start';
import type { SuiteDefinition, Variant } from './harness';
import { difference, pairedMedian } from './support/paired';
import { testGuestFiles } from './support/repo';

/**
 * Issue 4's benchmark: a linked clone of a base image plus the start of a VM on it, up to QEMU
 * answering `cont`, against the same start on an existing image. Target: the clone adds at most 150 ms.
 */
export const linkedCloneSuite: SuiteDefinition = {
  id: 'linked-clone-start',
  title: 'Linked clone of a base image + VM start (QMP cont answered)',
  unit: 'ms',
  better: 'lower',
  reference: 'start only',
  target: 'linked clone + start: median at most 150 ms more than start only',
  rounds: { full: 7, quick: 2 },
  verdict: (variants) => {
    const added = pairedMedian(variants, 'linked clone + start', 'start only', difference);
    const clone = variants.find((variant) => variant.label === 'linked clone only')?.median;
    if (added === undefined) return undefined;
    const alone = clone === undefined ? '' : `; the clone alone takes ${clone.toFixed(0)} ms`;
    return `${added <= 150 ? 'MET' : 'NOT MET'}: the clone adds ${added.toFixed(0)} ms to the start, median of per-round differences (target ≤ 150 ms)${alone}`;
  },
  async setup(context) {
    // Short folder: QEMU's unix socket paths must stay under 108 bytes.
    const home = await mkdtemp(join(tmpdir(), 'vdbench-'));
    const env: NodeJS.ProcessEnv = { ...process.env, VIRTDESK_HOME: home, VIRTDESK_RUNTIME_DIR: join(home, 'run') };
    const guest = await testGuestFiles();
    const storage = new StorageService({ home });
    const pool = await storage.pools.ensureDefault();
    const base = join(pool.path, 'base.qcow2');
    await createImage(base, { format: 'qcow2', sizeBytes: 64 * 2 ** 20 });
    await storage.cloneVolume({ pool: 'default', name: 'base.qcow2', newName: 'existing.qcow2', mode: 'linked' });
    const definition = (name: string, disk: string): VmDefinition =>
      createVmDefinition({
        name,
        accelerator: 'tcg',
        memory: { maximumMiB: 256 },
        directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
        disks: [{ source: disk, format: 'qcow2' }],
        nics: [],
        balloon: false,
        rng: false,
      });
    const ctx = { home, env };
    let counter = 0;
    const startAndTime = async (def: VmDefinition, before?: () => Promise<void>): Promise<number> => {
      const started = performance.now();
      await before?.();
      await startVm(def, ctx);
      const elapsed = performance.now() - started;
      await stopVm(def, ctx, { force: true });
      return elapsed;
    };
    context.log(`base image ${base}; TCG, 256 MiB, direct kernel boot of the test guest`);
    const variants: Variant[] = [
      {
        label: 'start only',
        measure: () => startAndTime(definition(`existing-${counter++}`, join(pool.path, 'existing.qcow2'))),
      },
      {
        label: 'linked clone + start',
        measure: async () => {
          const name = `clone-${counter++}.qcow2`;
          const elapsed = await startAndTime(definition(`clone-${counter}`, join(pool.path, name)), async () => {
            await storage.cloneVolume({ pool: 'default', name: 'base.qcow2', newName: name, mode: 'linked' });
          });
          await storage.deleteVolume({ pool: 'default', name });
          return elapsed;
        },
      },
      {
        // What the clone itself costs, without the noise of a VM start.
        label: 'linked clone only',
        measure: async () => {
          const name = `only-${counter++}.qcow2`;
          const started = performance.now();
          await storage.cloneVolume({ pool: 'default', name: 'base.qcow2', newName: name, mode: 'linked' });
          const elapsed = performance.now() - started;
          await storage.deleteVolume({ pool: 'default', name });
          return elapsed;
        },
      },
    ];
    return { variants, dispose: () => rm(home, { recursive: true, force: true }) };
  },
};
