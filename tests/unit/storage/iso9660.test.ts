import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { readIsoLabel } from '../../../engine/storage/iso/iso9660';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtdesk-iso9660-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function descriptor(type: number, fields: Record<number, string> = {}, pad = ' '): Buffer {
  const sector = Buffer.alloc(2048, 0);
  sector[0] = type;
  sector.write('CD001', 1, 'latin1');
  sector[6] = 1;
  for (const [offset, length] of [[8, 32], [40, 32], [190, 128], [318, 128], [446, 128], [574, 128]] as const) {
    sector.fill(pad, offset, offset + length, 'latin1');
    const value = fields[offset];
    if (value !== undefined) sector.write(value, offset, 'latin1');
  }
  sector.writeUInt32LE(1234, 80);
  sector.writeUInt16LE(2048, 128);
  return sector;
}

async function image(name: string, ...descriptors: Buffer[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, Buffer.concat([Buffer.alloc(16 * 2048), ...descriptors, descriptor(255)]));
  return path;
}

describe('readIsoLabel', () => {
  it('reads the primary volume descriptor fields, trimming space padding', async () => {
    const path = await image('a.iso', descriptor(1, { 8: 'LINUX', 40: 'Debian 11.9.0 amd64 n', 318: 'Debian Project', 574: 'XORRISO', 190: 'set' }));
    expect(await readIsoLabel(path)).toEqual({
      systemId: 'LINUX',
      volumeId: 'Debian 11.9.0 amd64 n',
      volumeSetId: 'set',
      publisherId: 'Debian Project',
      dataPreparerId: '',
      applicationId: 'XORRISO',
      volumeSize: 1234 * 2048,
    });
  });

  it('skips a boot record before the primary descriptor and trims NUL padding', async () => {
    const path = await image('b.iso', descriptor(0), descriptor(1, { 40: 'CCCOMA_X64FRE_EN-US_DV9' }, '\u0000'));
    expect((await readIsoLabel(path)).volumeId).toBe('CCCOMA_X64FRE_EN-US_DV9');
  });

  it('refuses a file that is not ISO 9660, and says a missing file is missing', async () => {
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'hello');
    await expect(readIsoLabel(text)).rejects.toThrow(/not an ISO 9660 image/);
    const zeros = join(dir, 'zeros.img');
    await writeFile(zeros, Buffer.alloc(64 * 1024));
    await expect(readIsoLabel(zeros)).rejects.toBeInstanceOf(EngineError);
    await expect(readIsoLabel(join(dir, 'missing.iso'))).rejects.toMatchObject({ code: 'not-found' });
  });
});
