import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SuiteDefinition, Variant, VariantResult } from './harness';
import { Cleanup } from './support/cleanup';
import { createGuestVm, sleep, startGuests } from './support/guest-vms';
import { perRound } from './support/per-round';
import { isRunning, memoryOf, type MemoryReading } from './support/proc';
import { startServe } from './support/serve-host';

/**
 * Suite 3: memory per running VM. Each running VM has a supervisor process (QEMU excluded); the
 * host process (`virtdesk serve`) is measured with those VMs running. RSS counts every page the
 * process maps, shared libraries included; PSS splits shared pages among the processes sharing
 * them (/proc/<pid>/smaps_rollup), so N supervisors' PSS adds up to what they really cost.
 */

const REFERENCE = 'bare Node.js process, RSS (the floor of any Node process)';
const SUPERVISOR_RSS = 'supervisor RSS, mean per VM';
const SUPERVISOR_PSS = 'supervisor PSS, mean per VM';
const SERVE_RSS = 'serve (host) RSS';
const SERVE_PSS = 'serve (host) PSS';
const QEMU_RSS = 'QEMU RSS, mean per VM (not Virtdesk; for scale)';
export const SUPERVISOR_RSS_TARGET_MIB = 40;

interface Snapshot {
  reference: MemoryReading;
  supervisors: MemoryReading[];
  serve: MemoryReading;
  qemus: MemoryReading[];
}

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

export const memorySuite: SuiteDefinition = {
  id: 'memory',
  title: 'Memory per running VM (TCG test guests, stats on)',
  unit: 'MiB',
  better: 'lower',
  reference: REFERENCE,
  target: `supervisor at most ${SUPERVISOR_RSS_TARGET_MIB} MiB RSS per VM`,
  rounds: { full: 5, quick: 1 },
  async setup(context) {
    const count = context.quick ? 1 : 3;
    const cleanup = new Cleanup();
    return cleanup.guard(async () => {
      const home = await mkdtemp(join(tmpdir(), 'vdbench-'));
      cleanup.add(() => rm(home, { recursive: true, force: true }));
      const host = await startServe(home);
      cleanup.add(() => host.stop());
      // The floor: a Node.js process of the same binary doing nothing.
      const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
      cleanup.add(() => bare.kill('SIGKILL'));
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push(await createGuestVm(host, `mem-${i}`));
      await startGuests(host, ids);
      // Let the supervisors settle past start-up (first stats samples, QMP greeting, GC).
      await sleep(context.quick ? 2000 : 5000);
      const supervisors = await host.supervisors();
      const qemus = await host.qemus();
      if (supervisors.length !== count) throw new Error(`expected ${count} supervisors under serve (pid ${host.pid}), found ${supervisors.length}`);
      context.log(`${count} VMs running; serve pid ${host.pid}, supervisors ${supervisors.join(' ')}, QEMU ${qemus.join(' ')}, bare node ${bare.pid}`);
      let round = 0;
      const snapshot = perRound<Snapshot>(async () => {
        if (round++ > 0) await sleep(1000);
        if (!isRunning(bare.pid!)) throw new Error('the reference Node process died');
        return {
          reference: await memoryOf(bare.pid!),
          supervisors: await Promise.all(supervisors.map((pid) => memoryOf(pid))),
          serve: await memoryOf(host.pid),
          qemus: await Promise.all(qemus.map((pid) => memoryOf(pid))),
        };
      });
      const pss = (reading: MemoryReading) => {
        if (reading.pssMiB === undefined) throw new Error('smaps_rollup is not readable here, so there is no PSS');
        return reading.pssMiB;
      };
      const variant = (label: string, read: (s: Snapshot) => number): Variant => ({ label, measure: async () => read(await snapshot(label)) });
      const variants: Variant[] = [
        variant(REFERENCE, (s) => s.reference.rssMiB),
        variant(SUPERVISOR_RSS, (s) => mean(s.supervisors.map((r) => r.rssMiB))),
        variant(SUPERVISOR_PSS, (s) => mean(s.supervisors.map(pss))),
        variant(SERVE_RSS, (s) => s.serve.rssMiB),
        variant(SERVE_PSS, (s) => pss(s.serve)),
        variant(QEMU_RSS, (s) => mean(s.qemus.map((r) => r.rssMiB))),
      ];
      return { variants, dispose: () => cleanup.run(context.log) };
    }, context.log);
  },
  verdict: (variants: VariantResult[]) => {
    const rss = variants.find((variant) => variant.label === SUPERVISOR_RSS)?.median;
    const bare = variants.find((variant) => variant.label === REFERENCE)?.median;
    if (rss === undefined) return undefined;
    const met = rss <= SUPERVISOR_RSS_TARGET_MIB;
    const floor = bare === undefined ? '' : `; an idle Node.js process alone is ${bare.toFixed(1)} MiB`;
    return `${met ? 'MET' : 'NOT MET'}: supervisor ${rss.toFixed(1)} MiB RSS per VM (target ≤ ${SUPERVISOR_RSS_TARGET_MIB} MiB${floor})`;
  },
};
