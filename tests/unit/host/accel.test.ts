import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { decideAccelerator, probeKvm } from '../../../engine/host/accel';
import { fakeHost, HOSTS, removeFakeHosts } from './fake-host';

afterEach(removeFakeHosts);

describe('probeKvm', () => {
  it('intel with VT-x and a read-write /dev/kvm is usable', async () => {
    expect(await probeKvm(await fakeHost(HOSTS.intel))).toEqual({ device: 'ok', module: 'kvm_intel', cpuFlags: ['vmx'], usable: true });
  });

  it('amd with AMD-V is usable', async () => {
    expect(await probeKvm(await fakeHost(HOSTS.amd))).toMatchObject({ module: 'kvm_amd', cpuFlags: ['svm'], usable: true });
  });

  it('kvm_pvm is not usable for ordinary guests, even though /dev/kvm opens', async () => {
    const kvm = await probeKvm(await fakeHost(HOSTS.pvm));
    expect(kvm).toMatchObject({ device: 'ok', module: 'kvm_pvm', cpuFlags: [], usable: false });
    expect(kvm.whyNot).toMatch(/kvm_pvm.*paravirtual.*cannot boot ordinary guest kernels/);
  });

  it('kvm_pvm wins even next to a hardware module', async () => {
    const kvm = await probeKvm(await fakeHost({ ...HOSTS.intel, '/sys/module/kvm_pvm': null }));
    expect(kvm).toMatchObject({ module: 'kvm_pvm', usable: false });
  });

  it('no /dev/kvm and no vmx/svm: says so and how to enable it', async () => {
    const kvm = await probeKvm(await fakeHost(HOSTS.noKvm));
    expect(kvm).toMatchObject({ device: 'missing', module: 'none', usable: false });
    expect(kvm.whyNot).toContain('/dev/kvm does not exist');
    expect(kvm.fix).toMatch(/firmware setup|nested/);
  });

  it('vmx but no module loaded: suggests modprobe kvm_intel', async () => {
    const kvm = await probeKvm(await fakeHost(HOSTS.vmxNoModule));
    expect(kvm.usable).toBe(false);
    expect(kvm.fix).toContain('modprobe kvm_intel');
  });

  it('module loaded, CPU without vmx/svm: not usable', async () => {
    const kvm = await probeKvm(await fakeHost(HOSTS.intelNoFlag));
    expect(kvm).toMatchObject({ usable: false, whyNot: 'the CPU advertises no hardware virtualization (vmx/svm)' });
  });

  it('no permission on /dev/kvm: not usable, with the kvm group fix', async () => {
    const facts = await fakeHost(HOSTS.intel, { readWriteAccess: async () => 'denied' });
    const kvm = await probeKvm(facts);
    expect(kvm).toMatchObject({ device: 'denied', usable: false, whyNot: 'this user cannot open /dev/kvm read-write' });
    expect(kvm.fix).toContain('usermod -aG kvm');
  });

  it('a QEMU built without KVM makes KVM unusable whatever the host', async () => {
    const kvm = await probeKvm(await fakeHost(HOSTS.intel), ['tcg']);
    expect(kvm).toMatchObject({ usable: false, whyNot: 'this QEMU binary was built without KVM support' });
  });
});

describe('decideAccelerator', () => {
  it('auto picks KVM where it works', async () => {
    const decision = await decideAccelerator('auto', { facts: await fakeHost(HOSTS.intel), qemuAccelerators: ['kvm', 'tcg'] });
    expect(decision.accel).toBe('kvm');
    expect(decision.reason).toContain('kvm_intel');
  });

  it('auto falls back to TCG with the reason on a PVM host', async () => {
    const decision = await decideAccelerator('auto', { facts: await fakeHost(HOSTS.pvm) });
    expect(decision.accel).toBe('tcg');
    expect(decision.reason).toMatch(/^TCG \(software emulation, much slower\) because the host KVM is kvm_pvm/);
  });

  it('auto falls back to TCG without /dev/kvm', async () => {
    const decision = await decideAccelerator('auto', { facts: await fakeHost(HOSTS.noKvm) });
    expect(decision).toMatchObject({ accel: 'tcg', kvm: { device: 'missing' } });
  });

  it('explicit kvm on a PVM host is an error naming the reason', async () => {
    const error = await decideAccelerator('kvm', { facts: await fakeHost(HOSTS.pvm) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('unavailable');
    expect((error as EngineError).message).toMatch(/^KVM cannot be used on this host: the host KVM is kvm_pvm/);
    expect((error as EngineError).hint).toContain('"tcg"');
  });

  it('explicit kvm without permission is permission-denied', async () => {
    const facts = await fakeHost(HOSTS.amd, { readWriteAccess: async () => 'denied' });
    const error = (await decideAccelerator('kvm', { facts }).catch((e: unknown) => e)) as EngineError;
    expect(error.code).toBe('permission-denied');
  });

  it('explicit kvm where it works', async () => {
    expect((await decideAccelerator('kvm', { facts: await fakeHost(HOSTS.amd) })).accel).toBe('kvm');
  });

  it('explicit tcg is honoured even where KVM works', async () => {
    const decision = await decideAccelerator('tcg', { facts: await fakeHost(HOSTS.intel) });
    expect(decision).toMatchObject({ accel: 'tcg', reason: 'TCG (software emulation) was requested', kvm: { usable: true } });
  });
});
