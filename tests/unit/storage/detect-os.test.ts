import { describe, expect, it } from 'vitest';
import { detectOs, isUnknownOs, mediaMatches } from '../../../engine/storage/iso/detect-os';
import type { IsoLabel } from '../../../engine/storage/iso/iso9660';
import type { OsinfoIndex, OsinfoMediaPattern, OsinfoOs } from '../../../engine/storage/iso/osinfo-db';

const GiB = 2 ** 30;

function label(fields: Partial<IsoLabel>): IsoLabel {
  return { systemId: '', volumeId: '', volumeSetId: '', publisherId: '', dataPreparerId: '', applicationId: '', volumeSize: 100 * 2048, ...fields };
}

function media(fields: Partial<OsinfoMediaPattern>): OsinfoMediaPattern {
  return { arch: 'x86_64', variants: [], live: false, installer: true, ...fields };
}

function os(shortId: string, fields: Partial<OsinfoOs>): OsinfoOs {
  return { uri: `http://example.org/${shortId}`, shortId, name: shortId.toUpperCase(), media: [], resources: [], ...fields };
}

function index(oses: OsinfoOs[]): OsinfoIndex {
  return { version: '20990101', directory: '/x', oses, problems: [] };
}

describe('mediaMatches (libosinfo rules)', () => {
  it('searches unanchored and case-sensitively; every given field must match', () => {
    expect(mediaMatches(label({ volumeId: 'xx Debian 11.2.0 amd64 n' }), media({ volumeId: 'Debian 11.\\d+.\\d+ amd64 n' }))).toBe(true);
    expect(mediaMatches(label({ volumeId: 'debian 11.2.0 amd64 n' }), media({ volumeId: 'Debian 11' }))).toBe(false);
    expect(mediaMatches(label({ volumeId: 'FOO', systemId: 'LINUX' }), media({ volumeId: 'FOO', systemId: 'LINUX' }))).toBe(true);
    expect(mediaMatches(label({ volumeId: 'FOO', systemId: '' }), media({ volumeId: 'FOO', systemId: 'LINUX' }))).toBe(false);
    expect(mediaMatches(label({ volumeId: 'FOO', volumeSize: 4096 }), media({ volumeId: 'FOO', volumeSize: 2048 }))).toBe(false);
  });
  it('never matches an entry with no patterns at all', () => {
    expect(mediaMatches(label({ volumeId: 'ANY' }), media({}))).toBe(false);
  });
});

describe('detectOs', () => {
  const specific = os('distro2', {
    version: '2',
    media: [media({ volumeId: '^DISTRO 2' })],
    resources: [{ arch: 'all', inherit: false, minimum: { ramBytes: GiB, nCpus: 1, storageBytes: 10 * GiB }, recommended: { ramBytes: 2 * GiB, storageBytes: 20 * GiB } }],
  });
  const rolling = os('distro-rolling', { releaseStatus: 'rolling', media: [media({ volumeId: '^DISTRO' })] });
  const child = os('distro3', { derivesFrom: specific.uri, media: [media({ volumeId: '^DISTRO 3' })], resources: [{ arch: 'all', inherit: true }] });

  it('prefers a specific release over a rolling one, and fills recommended gaps from the minimum', () => {
    const result = detectOs(label({ volumeId: 'DISTRO 2 x86_64' }), index([rolling, specific]));
    expect(result).toEqual({
      osId: 'distro2',
      name: 'DISTRO2',
      version: '2',
      arch: 'x86_64',
      live: false,
      recommended: { memoryMiB: 2048, vcpus: 1, diskBytes: 20 * GiB },
      minimum: { memoryMiB: 1024, vcpus: 1, diskBytes: 10 * GiB },
      database: '20990101',
    });
  });

  it('uses a rolling release only when nothing specific matches', () => {
    expect(detectOs(label({ volumeId: 'DISTRO 9' }), index([rolling, specific])).osId).toBe('distro-rolling');
  });

  it('follows derives-from for resources only where the database says inherit="true"', () => {
    const result = detectOs(label({ volumeId: 'DISTRO 3' }), index([specific, child]));
    expect(isUnknownOs(result)).toBe(false);
    expect(!isUnknownOs(result) && result.recommended.memoryMiB).toBe(2048);
  });

  it('lists the candidates instead of picking one when several OSes match', () => {
    const twin = os('twin', { media: [media({ volumeId: '^DISTRO 2' })] });
    const result = detectOs(label({ volumeId: 'DISTRO 2' }), index([specific, twin]));
    expect(result).toMatchObject({ osId: 'unknown', candidates: [{ osId: 'distro2' }, { osId: 'twin' }] });
  });

  it('says unknown, and why, for an unlabelled or unmatched ISO', () => {
    expect(detectOs(label({ volumeId: '' }), index([specific]))).toMatchObject({ osId: 'unknown', reason: expect.stringMatching(/no volume label/) });
    expect(detectOs(label({ volumeId: 'OTHER' }), index([specific]))).toMatchObject({ osId: 'unknown', reason: expect.stringMatching(/labelled "OTHER"/) });
  });
});
