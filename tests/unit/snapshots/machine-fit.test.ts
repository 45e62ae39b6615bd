import { describe, expect, it } from 'vitest';
import type { QemuCapabilities } from '../../../engine/host/probe';
import { assertMachineAvailable, assertSavedStateFits, machineFamily, type SavedStateRecord } from '../../../engine/vm/ops/save-restore';
import { thrown, vm } from './helpers';

const caps: Pick<QemuCapabilities, 'machines' | 'version'> = {
  version: { major: 7, minor: 2, micro: 0, text: '7.2.0' },
  machines: [
    { name: 'pc-q35-7.2', alias: 'q35', isDefault: false, deprecated: false, maxCpus: 288 },
    { name: 'pc-q35-7.1', isDefault: false, deprecated: false, maxCpus: 288 },
    { name: 'pc-i440fx-7.2', alias: 'pc', isDefault: true, deprecated: false, maxCpus: 255 },
  ],
};

function saved(def: ReturnType<typeof vm>, machineType = 'pc-q35-7.2'): SavedStateRecord {
  return { version: 1, savedAt: '2025-01-01T00:00:00.000Z', machineType, runState: 'running', qemuVersion: '7.2.0', sizeBytes: 1, durationMs: 1, definition: def as unknown as Record<string, unknown> };
}

describe('machine types of saved memory', () => {
  it('knows the family of exact machine types', () => {
    expect(machineFamily('pc-q35-7.2')).toBe('q35');
    expect(machineFamily('pc-i440fx-2.12')).toBe('pc');
    expect(machineFamily('pc-1.0')).toBe('pc');
    expect(machineFamily('microvm')).toBeUndefined();
  });

  it('refuses a machine version this QEMU does not have', () => {
    const error = thrown(() => assertMachineAvailable('pc-q35-9.9', caps, 'The saved state of VM "x"', 'hint'));
    expect(error.message).toBe('The saved state of VM "x" was taken on machine type pc-q35-9.9, which this QEMU (7.2.0) does not have, so it cannot be loaded.');
    expect(() => assertMachineAvailable('pc-q35-7.1', caps, 'x', 'hint')).not.toThrow();
  });
});

describe('does a saved state fit the VM now', () => {
  const def = vm({ disks: [{ source: '/i/a.qcow2' }] });

  it('fits the same VM, also an older q35 version (it is pinned at restore)', () => {
    expect(() => assertSavedStateFits(def, saved(def), caps)).not.toThrow();
    expect(() => assertSavedStateFits(def, saved(def, 'pc-q35-7.1'), caps)).not.toThrow();
    expect(() => assertSavedStateFits({ ...def, description: 'edited' }, saved(def), caps)).not.toThrow();
  });

  it('refuses another machine type, saying both and how to go on', () => {
    const error = thrown(() => assertSavedStateFits({ ...def, machine: 'pc' }, saved(def), caps));
    expect(error.code).toBe('invalid-state');
    expect(error.message).toBe(
      'The saved state of VM "vm" was taken on machine type pc-q35-7.2 (a q35 machine), but the VM is now a pc machine; a saved state loads only into the machine type it was taken on.',
    );
    expect(error.hint).toContain("Set the VM's machine back to q35.");
    expect(error.hint).toContain('virtdesk vm restore --discard vm');
  });

  it('refuses changed hardware, naming it', () => {
    const error = thrown(() => assertSavedStateFits({ ...def, memory: { maximumMiB: 4096, currentMiB: 4096 } }, saved(def), caps));
    expect(error.message).toContain('memory.maximumMiB changed since it was saved');
    expect(error.details).toEqual({ changes: ['memory.maximumMiB'] });
  });
});
