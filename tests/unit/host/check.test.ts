import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { formatHostCheck, runHostChecks, type HostCheckDeps, type HostCheckResult } from '../../../engine/host/check';
import { parseCapabilities, type RawProbe } from '../../../engine/host/probe';
import { fakeHost, HOSTS, MEMINFO, removeFakeHosts, type FakeTree } from './fake-host';

const raw = (JSON.parse(readFileSync(new URL('../../fixtures/qemu/caps-7.2.json', import.meta.url), 'utf8')) as { raw: RawProbe }).raw;
const caps = parseCapabilities(raw, '/usr/bin/qemu-system-x86_64', 1);
const fixtureDir = new URL('../../fixtures/qemu/firmware/', import.meta.url);
const FIRMWARE: FakeTree = {
  ...Object.fromEntries(readdirSync(fixtureDir).map((name) => [`/usr/share/qemu/firmware/${name}`, readFileSync(new URL(name, fixtureDir), 'utf8')])),
  ...Object.fromEntries(['OVMF_CODE_4M.fd', 'OVMF_CODE_4M.ms.fd', 'OVMF_CODE_4M.secboot.fd', 'OVMF_VARS_4M.fd', 'OVMF_VARS_4M.ms.fd'].map((f) => [`/usr/share/OVMF/${f}`, 'x'])),
};
const COMMON: FakeTree = {
  ...FIRMWARE,
  '/proc/meminfo': MEMINFO,
  '/sys/kernel/mm/ksm/run': '0\n',
  '/sys/kernel/mm/transparent_hugepage/enabled': 'always [madvise] never\n',
  '/usr/lib/qemu/qemu-bridge-helper': '',
};

const homes: string[] = [];
afterEach(async () => {
  await removeFakeHosts();
  await Promise.all(homes.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function check(tree: FakeTree, extra: Partial<HostCheckDeps> = {}): Promise<Map<string, HostCheckResult>> {
  const home = await mkdtemp(join(tmpdir(), 'vd-check-'));
  homes.push(home);
  const facts = await fakeHost({ ...COMMON, ...tree });
  const results = await runHostChecks({
    facts,
    env: { PATH: '/nowhere' },
    home,
    findQemu: async () => '/usr/bin/qemu-system-x86_64',
    findQemuImg: async () => '/usr/bin/qemu-img',
    loadCapabilities: async () => caps,
    chooseCpuModel: async (_binary, accel) =>
      accel === 'kvm'
        ? { model: 'host', accel, attempts: [{ model: 'host', ok: true }], reason: '-cpu host starts under KVM' }
        : { model: 'max', accel, attempts: [{ model: 'max', ok: true }], reason: '-cpu max starts under TCG' },
    firmwareDirs: ['/usr/share/qemu/firmware'],
    bridgeHelperPaths: ['/usr/lib/qemu/qemu-bridge-helper'],
    euid: 1000,
    ...extra,
  });
  return new Map(results.map((r) => [r.id, r]));
}

const ORDER = ['qemu-binary', 'qemu-img', 'kvm-device', 'kvm-access', 'hardware-virt', 'kvm-usable', 'cpu-model', 'uefi-firmware', 'ksm', 'hugepages', 'memory', 'runtime-dir', 'bridge-helper', 'bridge-conf'];

describe('runHostChecks', () => {
  it('on a PVM host like ours: KVM warnings saying guests run under TCG, CPU model under TCG', async () => {
    const results = await check(HOSTS.pvm);
    expect([...results.keys()]).toEqual(ORDER);
    expect(results.get('qemu-binary')).toMatchObject({ status: 'PASS', detail: '/usr/bin/qemu-system-x86_64, QEMU 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)' });
    expect(results.get('kvm-device')!.status).toBe('PASS');
    expect(results.get('kvm-access')!.status).toBe('PASS');
    expect(results.get('hardware-virt')).toMatchObject({ status: 'WARN' });
    expect(results.get('hardware-virt')!.detail).toContain('guests run under TCG, much slower');
    expect(results.get('kvm-usable')!.status).toBe('WARN');
    expect(results.get('kvm-usable')!.detail).toContain('accelerator "auto" uses TCG');
    expect(results.get('cpu-model')).toMatchObject({ status: 'PASS', title: 'Checking which CPU model starts under TCG', detail: '-cpu max starts under TCG' });
    expect(results.get('uefi-firmware')!.status).toBe('PASS');
    expect(results.get('bridge-helper')).toMatchObject({ status: 'WARN', fix: 'sudo chmod u+s /usr/lib/qemu/qemu-bridge-helper' });
    expect(results.get('bridge-conf')!.status).toBe('WARN');
    expect([...results.values()].some((r) => r.status === 'FAIL')).toBe(false);
  });

  it('on a good Intel host: KVM passes and the CPU model is probed under KVM', async () => {
    const results = await check({ ...HOSTS.intel, '/etc/qemu/bridge.conf': 'allow br0\n# comment\nallow vdbr0\n' });
    for (const id of ['kvm-device', 'kvm-access', 'hardware-virt', 'kvm-usable', 'cpu-model', 'bridge-conf']) expect(results.get(id)!.status, id).toBe('PASS');
    expect(results.get('cpu-model')!.title).toBe('Checking which CPU model starts under KVM');
    expect(results.get('bridge-conf')!.detail).toBe('allows br0, vdbr0');
  });

  it('without /dev/kvm: warnings, no failure', async () => {
    const results = await check(HOSTS.noKvm);
    expect(results.get('kvm-device')).toMatchObject({ status: 'WARN' });
    expect(results.get('kvm-access')).toMatchObject({ status: 'WARN', detail: 'no /dev/kvm' });
  });

  it('missing QEMU fails the QEMU and CPU checks with the install hint', async () => {
    const results = await check(HOSTS.intel, {
      findQemu: async () => {
        throw new EngineError('unavailable', 'QEMU is not installed: qemu-system-x86_64 was not found on PATH', { hint: 'sudo apt install qemu-system-x86 qemu-utils' });
      },
    });
    expect(results.get('qemu-binary')).toMatchObject({ status: 'FAIL', detail: 'QEMU is not installed: qemu-system-x86_64 was not found on PATH', fix: 'sudo apt install qemu-system-x86 qemu-utils' });
    expect(results.get('cpu-model')).toMatchObject({ status: 'FAIL' });
  });

  it('a CPU model that never starts is a FAIL with QEMU words', async () => {
    const results = await check(HOSTS.pvm, {
      chooseCpuModel: async () => {
        throw new EngineError('qemu-error', 'No CPU model starts under TCG: max (boom); qemu64 (boom)');
      },
    });
    expect(results.get('cpu-model')).toMatchObject({ status: 'FAIL', detail: 'No CPU model starts under TCG: max (boom); qemu64 (boom)' });
  });

  it('warns without OVMF, with THP off, and fails with too little memory', async () => {
    const results = await check({
      ...HOSTS.pvm,
      '/usr/share/qemu/firmware': null,
      '/proc/meminfo': 'MemTotal: 1048576 kB\nMemAvailable: 102400 kB\n',
      '/sys/kernel/mm/transparent_hugepage/enabled': 'always madvise [never]\n',
    }, { firmwareDirs: ['/nowhere'] });
    expect(results.get('uefi-firmware')).toMatchObject({ status: 'WARN' });
    expect(results.get('uefi-firmware')!.fix).toContain('apt install ovmf');
    expect(results.get('hugepages')!.status).toBe('WARN');
    expect(results.get('hugepages')!.fix).toContain('transparent_hugepage');
    expect(results.get('memory')).toMatchObject({ status: 'FAIL' });
  });
});

describe('formatHostCheck', () => {
  it('aligns the status column and puts a fix under each WARN and FAIL', () => {
    const text = formatHostCheck([
      { id: 'a', title: 'Checking for a', status: 'PASS', detail: 'fine' },
      { id: 'b', title: 'Checking for something longer', status: 'WARN', detail: 'meh', fix: 'do x' },
      { id: 'c', title: 'Checking c', status: 'FAIL', detail: 'broken', fix: 'do y' },
      { id: 'd', title: 'Checking d', status: 'PASS', detail: '', fix: 'never shown' },
    ]);
    expect(text).toBe(
      [
        'QEMU: Checking for a                : PASS (fine)',
        'QEMU: Checking for something longer : WARN (meh)',
        '  → fix: do x',
        'QEMU: Checking c                    : FAIL (broken)',
        '  → fix: do y',
        'QEMU: Checking d                    : PASS',
        '',
        '2 passed, 1 warnings, 1 failed',
        '',
      ].join('\n'),
    );
  });
});
