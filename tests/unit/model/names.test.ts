import { describe, expect, it } from 'vitest';
import { createVmDefinition, deviceIdProblem, isValidVmName, MAX_VM_NAME_LENGTH, nextDeviceId, vmNameProblem } from '../../../engine/model';
import { thrown } from './helpers';

describe('VM names', () => {
  it.each(['web', 'Web-01', 'db.prod', 'a', '_x', '9lives', 'x'.repeat(MAX_VM_NAME_LENGTH)])('accepts %j', (name) => {
    expect(isValidVmName(name)).toBe(true);
  });

  it.each([
    ['', /is empty/],
    ['x'.repeat(MAX_VM_NAME_LENGTH + 1), /65 characters long; at most 64/],
    ['.hidden', /must not start with "\." or "-"/],
    ['-rf', /must not start with "\." or "-"/],
    ['my vm', /letters, digits/],
    ['a/b', /letters, digits/],
    ['a,b', /letters, digits/],
    ['ünï', /letters, digits/],
    ['a:b', /letters, digits/],
  ])('refuses %j', (name, why) => {
    expect(isValidVmName(name)).toBe(false);
    expect(vmNameProblem(name)).toMatch(why);
  });

  it('refuses non-strings', () => {
    expect(isValidVmName(42)).toBe(false);
    expect(isValidVmName(undefined)).toBe(false);
  });

  it('reports a bad name as invalid-argument naming the field', () => {
    const error = thrown(() => createVmDefinition({ name: '-bad' }));
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toMatch(/name: VM name "-bad" must not start/);
  });
});

describe('device ids', () => {
  it.each(['disk0', 'net-1', 'cd_rom', 'A'])('accepts %j', (id) => expect(deviceIdProblem(id)).toBeUndefined());
  it.each(['', '0disk', 'disk 0', 'disk.0', 'vd-rp1', 'x'.repeat(17)])('refuses %j', (id) => expect(deviceIdProblem(id)).toBeDefined());

  it('generates the first free id per kind', () => {
    expect(nextDeviceId('disk', new Set(['disk0', 'disk2']))).toBe('disk1');
    const def = createVmDefinition({ name: 'ids', disks: [{ source: '/a', id: 'disk0' }, { source: '/b' }, { id: 'disk2', source: '/c' }], cdroms: [{}, {}] });
    expect(def.disks.map((d) => d.id)).toEqual(['disk0', 'disk1', 'disk2']);
    expect(def.cdroms.map((c) => c.id)).toEqual(['cdrom0', 'cdrom1']);
  });
});
