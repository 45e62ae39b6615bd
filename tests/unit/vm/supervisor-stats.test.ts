import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpClient } from '../../../engine/qemu/qmp';
import { vmRuntimePaths } from '../../../engine/vm/runtime/paths';
import { VmStatsCollector } from '../../../engine/vm/stats/collector';
import { statsDelay, VmSupervisor } from '../../../engine/vm/supervision/supervisor';
import type { SupervisorToHost } from '../../../engine/vm/supervision/supervisor-protocol';
import { FakeQmpServer, type FakePeer, type Json } from '../qmp/fake-qmp-server';

const VM_ID = '6f1d0c4e-2b7a-4d1e-9c3a-5e8f7a6b4c21';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Answers what a running, idle QEMU answers; counts the commands. */
function idleQemu(balloonBytes = 192 * 1024 * 1024) {
  const counts = new Map<string, number>();
  const onCommand = (command: Json, peer: FakePeer) => {
    const name = String(command['execute']);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const answers: Record<string, unknown> = {
      'query-status': { status: 'running', running: true, singlestep: false },
      'query-blockstats': [{ device: '', qdev: '/machine/peripheral/vd-disk0/virtio-backend', stats: { rd_bytes: 4096, wr_bytes: 512 } }],
      'query-balloon': { actual: balloonBytes },
      'human-monitor-command': 'net0: index=0,type=user,net=10.0.2.0,restrict=off\r\n',
    };
    peer.reply(command['id'], answers[name] ?? {});
  };
  return { counts, onCommand };
}

async function fakeRunningVm(onCommand: (command: Json, peer: FakePeer) => void) {
  const home = await mkdtemp(join(tmpdir(), 'vd-sup-stats-'));
  cleanups.push(() => rm(home, { recursive: true, force: true }));
  const runtimeEnv = { VIRTDESK_RUNTIME_DIR: join(home, 'run') };
  const paths = vmRuntimePaths(home, VM_ID, runtimeEnv);
  await mkdir(paths.runDir, { recursive: true });
  // A process standing in for QEMU: alive, and naming the runtime folder in its argv.
  const qemu: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', `${paths.runDir}/qmp.sock`], { stdio: 'ignore' });
  cleanups.push(() => {
    qemu.kill('SIGKILL');
  });
  await writeFile(paths.pidFile, `${qemu.pid}\n`);
  const qmp = await FakeQmpServer.start({ onCommand }, paths.qmpSocket);
  cleanups.push(() => qmp.stop());
  return { home, runtimeEnv, qemu, qmp };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('stats sampling in the supervisor', () => {
  it('waits until the next wall-clock multiple of the interval', () => {
    expect(statsDelay(10_000, 2000)).toBe(2000);
    expect(statsDelay(10_001, 2000)).toBe(1999);
    expect(statsDelay(11_999, 2000)).toBe(1);
  });

  it('asks QEMU one thing per sample: the balloon once, then from its events; PSS only every pssEveryMs', async () => {
    const qemu = idleQemu();
    const vm = await fakeRunningVm(qemu.onCommand);
    const client = await QmpClient.connect(join(vm.runtimeEnv.VIRTDESK_RUNTIME_DIR, VM_ID, 'qmp.sock'), { timeoutMs: 5000 });
    cleanups.push(() => client.close());
    let clock = 0;
    let pssReads = 0;
    const collector = new VmStatsCollector(vm.qemu.pid!, client, { pssEveryMs: 30_000, now: () => clock, readPss: () => ++pssReads * 1024 });
    cleanups.push(() => collector.close());

    const first = await collector.sample();
    expect(first).toMatchObject({ cpuPercent: null, guestMemoryBytes: 192 * 1024 * 1024, blockReadBytes: 4096, blockWriteBytes: 512, netRxBytes: null, pssBytes: 1024 });
    expect(first!.rssBytes).toBeGreaterThan(1024 * 1024);
    clock = 2000;
    const second = await collector.sample();
    expect(second!.cpuPercent).not.toBeNull();
    expect(second!.pssBytes).toBe(1024);
    collector.balloonChanged(128 * 1024 * 1024);
    clock = 31_000;
    const third = await collector.sample();
    expect(third).toMatchObject({ guestMemoryBytes: 128 * 1024 * 1024, pssBytes: 2048 });
    expect(pssReads).toBe(2);
    expect(Object.fromEntries(qemu.counts)).toEqual({ 'query-blockstats': 3, 'query-balloon': 1, 'human-monitor-command': 1 });
  });

  it('samples at the same wall-clock moments in every supervisor, stops at interval 0 and resumes', async () => {
    const qemu = idleQemu();
    const vm = await fakeRunningVm(qemu.onCommand);
    const sent: SupervisorToHost[] = [];
    const supervisor = new VmSupervisor({ vmId: VM_ID, vmName: 'stats', home: vm.home, runtimeEnv: vm.runtimeEnv, statsIntervalMs: 200, send: (message) => sent.push(message) });
    cleanups.push(() => supervisor.detach());
    await supervisor.attach();
    expect(sent[0]).toMatchObject({ type: 'attached', pid: vm.qemu.pid, state: 'running' });
    const stats = () => sent.filter((message): message is Extract<SupervisorToHost, { type: 'stats' }> => message.type === 'stats');
    await until('four samples', () => stats().length >= 4);
    // Each sample is taken just after a multiple of 200 ms of the wall clock (QMP answers at once here).
    for (const { stats: sample } of stats()) expect(sample.at % 200).toBeLessThan(60);
    // The BALLOON_CHANGE event reaches the samples without another query-balloon.
    vm.qmp.peer.event('BALLOON_CHANGE', { actual: 100 * 1024 * 1024 });
    await until('the new balloon size in a sample', () => stats().at(-1)?.stats.guestMemoryBytes === 100 * 1024 * 1024);
    expect(qemu.counts.get('query-balloon')).toBe(1);

    supervisor.setStatsInterval(0);
    const stopped = stats().length;
    const blockstats = qemu.counts.get('query-blockstats');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(stats().length).toBe(stopped);
    expect(qemu.counts.get('query-blockstats')).toBe(blockstats);

    supervisor.setStatsInterval(200);
    await until('samples again', () => stats().length >= stopped + 2);
    await supervisor.detach();
    const detached = stats().length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stats().length).toBe(detached);
  });
});
