import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { findUefiFirmware, parseFirmwareDescriptor, pickUefiFirmware, readFirmwareDescriptors } from '../../../engine/host/firmware';
import { fakeHost, removeFakeHosts, type FakeTree } from './fake-host';

afterEach(removeFakeHosts);

/** Debian 12's ovmf descriptors, copied from /usr/share/qemu/firmware. */
const fixtureDir = new URL('../../fixtures/qemu/firmware/', import.meta.url);
const DEBIAN_DESCRIPTORS: FakeTree = Object.fromEntries(
  readdirSync(fixtureDir).map((name) => [`/usr/share/qemu/firmware/${name}`, readFileSync(new URL(name, fixtureDir), 'utf8')]),
);
const OVMF_FILES: FakeTree = Object.fromEntries(
  ['OVMF_CODE_4M.fd', 'OVMF_CODE_4M.ms.fd', 'OVMF_CODE_4M.secboot.fd', 'OVMF_VARS_4M.fd', 'OVMF_VARS_4M.ms.fd'].map((f) => [`/usr/share/OVMF/${f}`, 'x']),
);
const DIRS = ['/usr/share/qemu/firmware', '/etc/qemu/firmware', '/home/u/.config/qemu/firmware'];

describe('UEFI firmware selection on Debian 12', () => {
  it('reads all three descriptors in file-name order', async () => {
    const { descriptors, skipped } = await readFirmwareDescriptors(await fakeHost(DEBIAN_DESCRIPTORS), DIRS);
    expect(skipped).toEqual([]);
    expect(descriptors.map((d) => d.path.split('/').pop())).toEqual(['40-edk2-x86_64-secure-enrolled.json', '50-edk2-x86_64-secure.json', '60-edk2-x86_64.json']);
    expect(descriptors[0]).toMatchObject({
      interfaceTypes: ['uefi'],
      device: 'flash',
      executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd', format: 'raw' },
      nvramTemplate: { filename: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd', format: 'raw' },
      targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }],
    });
    expect(descriptors[0]!.features).toContain('secure-boot');
  });

  it('q35 without Secure Boot gets the plain build (not the first, SMM one)', async () => {
    const { descriptors } = await readFirmwareDescriptors(await fakeHost(DEBIAN_DESCRIPTORS), DIRS);
    expect(pickUefiFirmware(descriptors, { machine: 'q35', secureBoot: false })).toMatchObject({
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      secureBoot: false,
      requiresSmm: false,
    });
  });

  it('q35 with Secure Boot prefers enrolled keys and needs SMM', async () => {
    const { descriptors } = await readFirmwareDescriptors(await fakeHost(DEBIAN_DESCRIPTORS), DIRS);
    expect(pickUefiFirmware(descriptors, { machine: 'pc-q35-7.2', secureBoot: true })).toMatchObject({
      code: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
      secureBoot: true,
      enrolledKeys: true,
      requiresSmm: true,
    });
  });

  it('pc (i440fx) gets the plain build; Secure Boot on pc is refused', async () => {
    const facts = await fakeHost({ ...DEBIAN_DESCRIPTORS, ...OVMF_FILES });
    expect((await findUefiFirmware({ machine: 'pc', secureBoot: false }, facts, DIRS)).code).toBe('/usr/share/OVMF/OVMF_CODE_4M.fd');
    const error = (await findUefiFirmware({ machine: 'pc', secureBoot: true }, facts, DIRS).catch((e: unknown) => e)) as EngineError;
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toContain('q35');
  });

  it('an empty file in /etc masks a descriptor; a user descriptor overrides by name', async () => {
    const userDescriptor = JSON.stringify({
      'interface-types': ['uefi'],
      mapping: { device: 'flash', executable: { filename: '/opt/my/CODE.fd' }, 'nvram-template': { filename: '/opt/my/VARS.fd' } },
      targets: [{ architecture: 'x86_64', machines: ['pc-q35-*', 'pc-i440fx-*'] }],
      features: [],
    });
    const facts = await fakeHost({
      ...DEBIAN_DESCRIPTORS,
      '/etc/qemu/firmware/40-edk2-x86_64-secure-enrolled.json': '',
      '/home/u/.config/qemu/firmware/60-edk2-x86_64.json': userDescriptor,
    });
    const { descriptors } = await readFirmwareDescriptors(facts, DIRS);
    expect(descriptors.map((d) => d.path)).toEqual(['/usr/share/qemu/firmware/50-edk2-x86_64-secure.json', '/home/u/.config/qemu/firmware/60-edk2-x86_64.json']);
    expect(pickUefiFirmware(descriptors, { machine: 'q35', secureBoot: false })?.code).toBe('/opt/my/CODE.fd');
    expect(pickUefiFirmware(descriptors, { machine: 'q35', secureBoot: true })).toMatchObject({ code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', enrolledKeys: false });
  });

  it('descriptors naming missing files do not count; the error says how to install OVMF', async () => {
    const error = (await findUefiFirmware({ machine: 'q35', secureBoot: false }, await fakeHost(DEBIAN_DESCRIPTORS), DIRS).catch((e: unknown) => e)) as EngineError;
    expect(error).toBeInstanceOf(EngineError);
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe('No UEFI firmware for q35 is installed');
    expect(error.hint).toContain('apt install ovmf');
  });

  it('no descriptors at all is its own message', async () => {
    const error = (await findUefiFirmware({ machine: 'q35', secureBoot: true }, await fakeHost({}), DIRS).catch((e: unknown) => e)) as EngineError;
    expect(error.message).toBe('No UEFI firmware with Secure Boot for q35: no QEMU firmware descriptors were found');
  });

  it('skips malformed descriptors with the reason and ignores non-JSON files', async () => {
    const facts = await fakeHost({
      '/usr/share/qemu/firmware/10-broken.json': '{ not json',
      '/usr/share/qemu/firmware/20-nofile.json': '{"mapping": {"device": "flash"}}',
      '/usr/share/qemu/firmware/README': 'hello',
    });
    const { descriptors, skipped } = await readFirmwareDescriptors(facts, DIRS);
    expect(descriptors).toEqual([]);
    expect(skipped.map((s) => s.path)).toEqual(['/usr/share/qemu/firmware/10-broken.json', '/usr/share/qemu/firmware/20-nofile.json']);
    expect(skipped[1]!.problem).toBe('no executable file in mapping');
  });

  it('ignores memory-mapped and non-x86 firmware', () => {
    const memory = parseFirmwareDescriptor('/m.json', JSON.stringify({ 'interface-types': ['uefi'], mapping: { device: 'memory', filename: '/x.fd' }, targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }] })).descriptor!;
    const arm = parseFirmwareDescriptor('/a.json', JSON.stringify({ 'interface-types': ['uefi'], mapping: { device: 'flash', executable: { filename: '/a.fd' }, 'nvram-template': { filename: '/v.fd' } }, targets: [{ architecture: 'aarch64', machines: ['virt-*'] }] })).descriptor!;
    expect(pickUefiFirmware([memory, arm], { machine: 'q35', secureBoot: false })).toBeUndefined();
  });
});
