import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadQemuCapabilities } from '../../../engine/host/capabilities';
import { hasCpuModel, hasDevice, parseAccelHelp, parseCapabilities, resolveMachine, type RawProbe } from '../../../engine/host/probe';

/** A real probe of Debian 12's QEMU 7.2, recorded by tests/fixtures/qemu/record-probe.ts. */
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/qemu/caps-7.2.json', import.meta.url), 'utf8')) as { raw: RawProbe };
const caps = parseCapabilities(fixture.raw, '/usr/bin/qemu-system-x86_64', 1234);

describe('parseCapabilities on the recorded QEMU 7.2 probe', () => {
  it('reads the version', () => {
    expect(caps.version).toEqual({ major: 7, minor: 2, micro: 22, text: '7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)' });
    expect(caps.binary).toBe('/usr/bin/qemu-system-x86_64');
    expect(caps.mtimeMs).toBe(1234);
  });

  it('resolves the machine aliases Virtdesk uses', () => {
    expect(resolveMachine(caps, 'q35')).toMatchObject({ name: 'pc-q35-7.2', alias: 'q35', isDefault: false, maxCpus: 288 });
    expect(resolveMachine(caps, 'pc')).toMatchObject({ name: 'pc-i440fx-7.2', alias: 'pc', isDefault: true });
    expect(resolveMachine(caps, 'pc-q35-5.2')?.alias).toBeUndefined();
    expect(resolveMachine(caps, 'virt')).toBeUndefined();
    expect(caps.machines.filter((m) => m.isDefault)).toHaveLength(1);
    expect(caps.machines.map((m) => m.name)).toEqual([...caps.machines.map((m) => m.name)].sort((a, b) => a.localeCompare(b)));
  });

  it('lists the CPU models, with aliases and TCG usability', () => {
    for (const name of ['max', 'host', 'qemu64', 'Skylake-Client', 'EPYC']) expect(hasCpuModel(caps, name)).toBe(true);
    expect(caps.cpuModels.find((m) => m.name === 'max')?.usableUnderTcg).toBe(true);
    expect(caps.cpuModels.find((m) => m.name === 'Skylake-Client')?.aliasOf).toMatch(/^Skylake-Client-v\d$/);
    // TCG cannot emulate every feature of recent models (e.g. AVX-512).
    expect(caps.cpuModels.some((m) => !m.usableUnderTcg)).toBe(true);
  });

  it('lists concrete device models only', () => {
    for (const driver of ['virtio-vga', 'VGA', 'qxl-vga', 'virtio-blk-pci', 'virtio-net-pci', 'e1000e', 'rtl8139', 'usb-tablet', 'virtio-balloon-pci', 'virtio-rng-pci', 'ide-cd', 'scsi-cd', 'virtio-scsi-pci', 'isa-serial', 'qemu-xhci']) {
      expect(hasDevice(caps, driver), driver).toBe(true);
    }
    expect(caps.devices).not.toContain('device');
    expect(caps.devices).not.toContain('pci-device');
    expect(caps.devices.length).toBeGreaterThan(200);
  });

  it('reads accelerators and QMP commands', () => {
    expect(caps.accelerators).toEqual(['kvm', 'tcg']);
    for (const command of ['query-status', 'screendump', 'device_add', 'blockdev-add', 'set_password', 'snapshot-save']) expect(caps.qmpCommands).toContain(command);
  });
});

describe('parseAccelHelp', () => {
  it('reads the accelerators after the header, ignoring others', () => {
    expect(parseAccelHelp('Accelerators supported in QEMU binary:\ntcg\nkvm\n')).toEqual(['kvm', 'tcg']);
    expect(parseAccelHelp('Accelerators supported in QEMU binary:\ntcg\nxen\n')).toEqual(['tcg']);
    expect(parseAccelHelp('')).toEqual([]);
  });
});

describe('loadQemuCapabilities cache', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function setup() {
    const dir = await mkdtemp(join(tmpdir(), 'vd-caps-'));
    dirs.push(dir);
    const binary = join(dir, 'qemu-system-x86_64');
    await writeFile(binary, '#!/bin/sh\n', { mode: 0o755 });
    let probes = 0;
    const probe = async () => {
      probes++;
      return fixture.raw;
    };
    return { dir, binary, home: join(dir, 'home'), probe, probes: () => probes };
  }

  it('probes once per binary mtime and caches as JSON under <home>/cache', async () => {
    const { binary, home, probe, probes } = await setup();
    const first = await loadQemuCapabilities({ binary, home, probe });
    const second = await loadQemuCapabilities({ binary, home, probe });
    expect(probes()).toBe(1);
    expect(second).toEqual(first);
    expect(first.binary).toBe(binary);
    const files = await readdir(join(home, 'cache'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^qemu-caps-[0-9a-f]{16}\.json$/);
  });

  it('probes again when the binary changes, on refresh, and when the cache is corrupt', async () => {
    const { binary, home, probe, probes } = await setup();
    await loadQemuCapabilities({ binary, home, probe });
    const later = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    await utimes(binary, later, later);
    const changed = await loadQemuCapabilities({ binary, home, probe });
    expect(probes()).toBe(2);
    expect(changed.mtimeMs).toBe(later.getTime());
    await loadQemuCapabilities({ binary, home, probe, refresh: true });
    expect(probes()).toBe(3);
    const [file] = await readdir(join(home, 'cache'));
    await writeFile(join(home, 'cache', file!), '{"cacheVersion": 1, "val');
    await loadQemuCapabilities({ binary, home, probe });
    expect(probes()).toBe(4);
  });
});
