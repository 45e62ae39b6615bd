// The libvirt client over qemu+ssh to the shared fake host (its own namespaces, libvirtd and
// key-only sshd): list, a TCG test guest defined and started with its events, a refused
// unknown host key, a frozen host caught by keepalive, and a killed sshd, while a local
// connection keeps answering.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openLibvirtConnection, type OpenOptions } from '../../engine/libvirt/connection/open-connection';
import type { LibvirtConnection } from '../../engine/libvirt/connection/libvirt-connection';
import type { DomainEvent } from '../../engine/libvirt/domains/domain-types';
import { closeSshMaster } from '../../engine/libvirt/transport/ssh';
import { ensureTestGuest } from '../guest/guest';
import { run } from '../support/libvirt-host/libvirt-host';

const shared = inject('libvirtHost');

describe.skipIf(shared.unavailable !== undefined)(`libvirt over qemu+ssh to a fake host${shared.unavailable ? ` (skipped: ${shared.unavailable})` : ''}`, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'vd-libvirt-ssh-'));
  const controlDir = path.join(work, 'ssh');
  const options = (knownHosts = shared.knownHosts!): OpenOptions => ({
    sshControlDir: controlDir,
    sshOptions: [`UserKnownHostsFile=${knownHosts}`, 'GlobalKnownHostsFile=/dev/null'],
  });
  const timings: Record<string, number> = {};
  let remote: LibvirtConnection;
  const inHost = (command: string[]) => run('nsenter', ['-t', String(shared.libvirtdPid), '-m', '-u', '-n', '--', ...command]);
  const sshdPids = async () => (await inHost(['pgrep', '-x', 'sshd'])).trim().split('\n').filter(Boolean);

  beforeAll(async () => {
    const started = performance.now();
    remote = await openLibvirtConnection(shared.sshUri!, options());
    timings.open = performance.now() - started;
  });
  afterAll(async () => {
    await remote?.close();
    await closeSshMaster({ host: shared.address!, user: 'root' }, controlDir);
    rmSync(work, { recursive: true, force: true });
    console.log(`libvirt over qemu+ssh to a fake host (ms): ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  });

  it('reaches the host\'s own libvirtd: its host name and domains', async () => {
    expect(await remote.hostname()).toBe(shared.hostname);
    let started = performance.now();
    expect((await remote.versions()).libvirt).toBe('9.0.0'); // the first call that needs QEMU's capabilities probes QEMU
    timings.firstVersions = performance.now() - started;
    started = performance.now();
    expect(Array.isArray(await remote.listAllDomains())).toBe(true);
    timings.list = performance.now() - started;
  });

  it('defines and starts a TCG test guest, and sees its lifecycle events', async () => {
    const guest = await ensureTestGuest();
    const events: DomainEvent[] = [];
    const stop = await remote.onDomainEvent((event) => events.push(event));
    const name = `vd-ssh-${Date.now().toString(36)}`;
    const xml = `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${guest.kernel}</kernel><initrd>${guest.initrd}</initrd><cmdline>${guest.cmdline}</cmdline></os>
  <cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model></cpu>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><serial type='pty'/><console type='pty'/></devices>
</domain>`;
    let started = performance.now();
    const defined = await remote.defineXml(xml, 0, { timeoutMs: 120_000 });
    timings.define = performance.now() - started;
    started = performance.now();
    const running = await remote.start(defined, 0, { timeoutMs: 60_000 });
    timings.start = performance.now() - started;
    expect(running.id).toBeGreaterThan(0);
    expect((await remote.state(running)).state).toBe('running');
    const stats = await remote.allDomainStats(0, 0, [running]);
    expect(stats[0]?.stats['cpu.time']).toBeGreaterThan(0);
    await remote.destroy(running);
    await remote.undefine(running);
    await waitFor(() => events.some((event) => event.kind === 'lifecycle' && event.event === 'undefined' && event.domain.name === name));
    stop();
    const kinds = events.filter((event) => event.domain.name === name).map((event) => event.kind === 'lifecycle' ? event.event : event.kind);
    // QEMU's driver also reports the resume from its paused start (and more), in between.
    expect(kinds.filter((kind) => ['defined', 'started', 'stopped', 'undefined'].includes(kind)), kinds.join(' ')).toEqual(['defined', 'started', 'stopped', 'undefined']);
  });

  it('refuses an unknown host key and shows its fingerprint', async () => {
    const emptyKnownHosts = path.join(work, 'empty_known_hosts');
    writeFileSync(emptyKnownHosts, '');
    const error = await openLibvirtConnection(shared.sshUri!, { ...options(emptyKnownHosts), sshControlDir: path.join(work, 'ssh-unknown') }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'permission-denied', details: { reason: 'host-key-unknown' } });
    expect((error as Error).message).toContain(shared.hostKeyFingerprint!);
    expect((error as Error).message).toMatch(/is not a known SSH host; Virtdesk refused its key/);
  });

  it('refuses a changed host key', async () => {
    const wrongKnownHosts = path.join(work, 'wrong_known_hosts');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(work, 'other_key')]);
    const { readFileSync } = await import('node:fs');
    writeFileSync(wrongKnownHosts, `${shared.address} ${readFileSync(path.join(work, 'other_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    const error = await openLibvirtConnection(shared.sshUri!, { ...options(wrongKnownHosts), sshControlDir: path.join(work, 'ssh-changed') }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'permission-denied', details: { reason: 'host-key-changed', fingerprints: [shared.hostKeyFingerprint] } });
  });

  it('falls back to nc on a host without virt-ssh-helper (libvirt before 6.8)', async () => {
    // Hidden for new ssh sessions only: they start in the host's mount namespace, where /dev/null now covers it.
    await inHost(['mount', '--bind', '/dev/null', '/usr/bin/virt-ssh-helper']);
    const ncDir = path.join(work, 'ssh-nc');
    try {
      const connection = await openLibvirtConnection(shared.sshUri!, { ...options(), sshControlDir: ncDir });
      const helpers = (await inHost(['pgrep', '-a', '-x', 'nc'])).trim();
      expect(helpers).toMatch(/nc -q0 -U \/run\/libvirt\/libvirt-sock/);
      expect(await connection.hostname()).toBe(shared.hostname);
      await connection.close();
    } finally {
      await inHost(['umount', '/usr/bin/virt-ssh-helper']);
      await closeSshMaster({ host: shared.address!, user: 'root' }, ncDir);
    }
  });

  it('marks a host that stops answering disconnected by keepalive within ~10 s, while a local connection answers', async () => {
    const frozenDir = path.join(work, 'ssh-frozen');
    const connection = await openLibvirtConnection(shared.sshUri!, { ...options(), sshControlDir: frozenDir });
    const local = await openLibvirtConnection(`test:///default?socket=${shared.socket}`, { sshControlDir: controlDir });
    const pids = await sshdPids();
    await run('kill', ['-STOP', ...pids]);
    const started = Date.now();
    try {
      const pending = connection.hostname({ timeoutMs: 60_000 });
      const localAnswers: number[] = [];
      const ticker = setInterval(() => {
        const asked = Date.now();
        void local.hostname().then(() => localAnswers.push(Date.now() - asked));
      }, 500);
      const reason = await connection.closed;
      clearInterval(ticker);
      timings.keepaliveDead = Date.now() - started;
      expect(reason).toMatchObject({ failure: 'keepalive' });
      expect((reason as Error).message).toMatch(/stopped answering/);
      await expect(pending).rejects.toMatchObject({ code: 'unavailable' });
      expect(Date.now() - started).toBeLessThan(12_000);
      expect(localAnswers.length).toBeGreaterThanOrEqual(10);
      expect(Math.max(...localAnswers)).toBeLessThan(1000);
    } finally {
      for (const pid of pids) await run('kill', ['-CONT', pid]).catch(() => undefined); // some ended meanwhile
      await local.close();
      await closeSshMaster({ host: shared.address!, user: 'root' }, frozenDir);
    }
  });

  it('sees the connection closed when the host\'s sshd is killed, and says so', async () => {
    const killedDir = path.join(work, 'ssh-killed');
    const connection = await openLibvirtConnection(shared.sshUri!, { ...options(), sshControlDir: killedDir });
    const started = Date.now();
    await run('kill', ['-KILL', ...(await sshdPids())]);
    try {
      const reason = await connection.closed;
      timings.sshdKilledToClosed = Date.now() - started;
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(reason).toMatchObject({ code: 'unavailable' });
      expect((reason as Error).message).toMatch(new RegExp(`The connection to root@${shared.address!.replaceAll('.', '\\.')} closed`));
      await expect(connection.hostname()).rejects.toThrow(/closed/);
    } finally {
      await inHost(['/usr/sbin/sshd', '-f', path.join(shared.root!, 'ssh/sshd_config')]);
      await closeSshMaster({ host: shared.address!, user: 'root' }, killedDir);
    }
    const again = await openLibvirtConnection(shared.sshUri!, { ...options(), sshControlDir: path.join(work, 'ssh-again') });
    expect(await again.hostname()).toBe(shared.hostname);
    await again.close();
    await closeSshMaster({ host: shared.address!, user: 'root' }, path.join(work, 'ssh-again'));
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
