import { open } from 'node:fs/promises';
import { EngineError } from '../../api/errors';

/** The identifying strings of an ISO 9660 image's primary volume descriptor. */
export interface IsoLabel {
  systemId: string;
  volumeId: string;
  volumeSetId: string;
  publisherId: string;
  dataPreparerId: string;
  applicationId: string;
  /** Volume space size times logical block size, in bytes. */
  volumeSize: number;
}

const SECTOR = 2048;
const FIRST_DESCRIPTOR = 16;
const MAX_DESCRIPTORS = 64;

function field(sector: Buffer, offset: number, length: number): string {
  // a-/d-characters padded with spaces; some mastering tools pad with NULs instead.
  // eslint-disable-next-line no-control-regex
  return sector.toString('latin1', offset, offset + length).replace(/[\s\u0000]+$/, '');
}

/**
 * Reads the primary volume descriptor (type 1) from the descriptor set that starts at sector 16.
 * Throws invalid-argument when the file is not an ISO 9660 image.
 */
export async function readIsoLabel(path: string): Promise<IsoLabel> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new EngineError(error.code === 'ENOENT' ? 'not-found' : 'permission-denied', `Cannot open "${path}": ${error.message}`);
  });
  try {
    const sector = Buffer.alloc(SECTOR);
    for (let index = FIRST_DESCRIPTOR; index < FIRST_DESCRIPTOR + MAX_DESCRIPTORS; index++) {
      const { bytesRead } = await handle.read(sector, 0, SECTOR, index * SECTOR);
      if (bytesRead < SECTOR || sector.toString('latin1', 1, 6) !== 'CD001') break;
      const type = sector[0];
      if (type === 255) break;
      if (type !== 1) continue;
      const blockSize = sector.readUInt16LE(128);
      return {
        systemId: field(sector, 8, 32),
        volumeId: field(sector, 40, 32),
        volumeSetId: field(sector, 190, 128),
        publisherId: field(sector, 318, 128),
        dataPreparerId: field(sector, 446, 128),
        applicationId: field(sector, 574, 128),
        volumeSize: sector.readUInt32LE(80) * blockSize,
      };
    }
  } finally {
    await handle.close();
  }
  throw new EngineError('invalid-argument', `"${path}" is not an ISO 9660 image: it has no primary volume descriptor at sector 16.`, {
    hint: 'Choose a CD/DVD image (.iso). Disk images belong in a storage pool instead.',
  });
}
