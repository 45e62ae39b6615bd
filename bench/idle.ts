import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SuiteDefinition, Variant, VariantResult } from './harness';
import { Cleanup } from './support/cleanup';
import { createGuestVm, sleep, startGuests } from './support/guest-vms';
import { perRound } from './support/per-round';
import { cpuSeconds } from './support/proc';
import { startServe } from './support/serve-host';

/**
 * Suite 4: what Virtdesk costs while nothing happens. N VMs run idle guests, stats are sampled
 * (every 2 s, the default) and streamed to a subscribed client as to an open window; over one
 * window the CPU time of serve and of the supervisors (QEMU excluded), then of QEMU, in % of
 * one core. All parts come from the same window.
 */

const QEMU = 'QEMU, all guests (the VMs themselves)';
const VIRTDESK = 'Virtdesk: serve + supervisors';
const SERVE = 'serve (host) alone';
const SUPERVISORS = 'supervisors, all VMs';
const WITH_QEMU = 'Virtdesk + QEMU';
export const IDLE_TARGET_PERCENT = 2;
/** The default stats interval serve runs with. */
const STATS_INTERVAL_MS = 2000;

interface Window {
  serve: number;
  supervisors: number;
  qemu: number;
}

export const idleSuite: SuiteDefinition = {
  id: 'idle',
  title: 'Idle cost: host CPU with running VMs and stats on',
  unit: '% core',
  better: 'lower',
  reference: QEMU,
  target: `Virtdesk (serve + supervisors) under ${IDLE_TARGET_PERCENT} % of one core with 10 VMs`,
  rounds: { full: 3, quick: 1 },
  async setup(context) {
    const count = context.quick ? 3 : 10;
    const windowMs = context.quick ? 5_000 : 30_000;
    const cleanup = new Cleanup();
    return cleanup.guard(async () => {
      const home = await mkdtemp(join(tmpdir(), 'vdbench-'));
      cleanup.add(() => rm(home, { recursive: true, force: true }));
      const host = await startServe(home);
      cleanup.add(() => host.stop());
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push(await createGuestVm(host, `idle-${String(i).padStart(2, '0')}`, 192));
      await startGuests(host, ids);
      // An open window: subscribed to the stats and state streams, as the VM list is.
      const window = await host.connect();
      cleanup.add(() => window.close());
      // Every VM's sample counts, not every event: serve sends all VMs' samples of a tick together.
      let samples = 0;
      let events = 0;
      window.on('vms.stats', (event) => {
        samples += event.samples.length;
        events += 1;
      });
      window.on('vm.state', () => undefined);
      window.on('vms.changed', () => undefined);
      await sleep(5000); // boots over: let the last guests settle
      const supervisors = await host.supervisors();
      const qemus = await host.qemus();
      if (supervisors.length !== count || qemus.length !== count) {
        throw new Error(`expected ${count} supervisors and QEMUs, found ${supervisors.length} and ${qemus.length}`);
      }
      context.log(`${count} VMs running, ${windowMs / 1000} s windows; serve pid ${host.pid}`);
      const measureWindow = perRound<Window>(async () => {
        const read = async () => ({ serve: await cpuSeconds([host.pid]), supervisors: await cpuSeconds(supervisors), qemu: await cpuSeconds(qemus), at: performance.now(), samples, events });
        const before = await read();
        await sleep(windowMs);
        const after = await read();
        const seconds = (after.at - before.at) / 1000;
        const percent = (from: number, to: number) => ((to - from) / seconds) * 100;
        const received = after.samples - before.samples;
        const expected = (count * seconds * 1000) / STATS_INTERVAL_MS;
        context.log(`window: ${received} VM stats samples (of ${expected.toFixed(0)} due: ${count} VMs every ${STATS_INTERVAL_MS / 1000} s) reached the client in ${after.events - before.events} events over ${seconds.toFixed(1)} s`);
        // Idle CPU is only worth reporting while stats really flow to the open window.
        if (received < expected / 2) throw new Error(`only ${received} of ${expected.toFixed(0)} stats samples reached the client: stats are not flowing`);
        return { serve: percent(before.serve, after.serve), supervisors: percent(before.supervisors, after.supervisors), qemu: percent(before.qemu, after.qemu) };
      });
      const variant = (label: string, read: (w: Window) => number): Variant => ({ label, measure: async () => read(await measureWindow(label)) });
      const variants: Variant[] = [
        variant(QEMU, (w) => w.qemu),
        variant(VIRTDESK, (w) => w.serve + w.supervisors),
        variant(SERVE, (w) => w.serve),
        variant(SUPERVISORS, (w) => w.supervisors),
        variant(WITH_QEMU, (w) => w.serve + w.supervisors + w.qemu),
      ];
      return { variants, dispose: () => cleanup.run(context.log) };
    }, context.log);
  },
  verdict: (variants: VariantResult[]) => {
    const virtdesk = variants.find((variant) => variant.label === VIRTDESK)?.median;
    if (virtdesk === undefined) return undefined;
    return `${virtdesk < IDLE_TARGET_PERCENT ? 'MET' : 'NOT MET'}: serve + supervisors use ${virtdesk.toFixed(2)} % of one core (target < ${IDLE_TARGET_PERCENT} %)`;
  },
};
