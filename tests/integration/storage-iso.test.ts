import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../engine/api/errors';
import type { DetectedOs } from '../../engine/storage/iso/detect-os';
import { IsoLibrary } from '../../engine/storage/iso/iso-library';
import { clearOsinfoMemoryCache, loadOsinfoIndex } from '../../engine/storage/iso/osinfo-db';

const run = promisify(execFile);
const OSINFO = '/usr/share/osinfo';
let dir: string;
let home: string;

/** Builds a tiny real ISO 9660 image with xorriso, labelled like a real release. */
async function buildIso(name: string, volumeId: string, publisher?: string): Promise<string> {
  const tree = join(dir, `${name}-tree`);
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, 'README.TXT'), `${volumeId}\n`);
  const path = join(dir, `${name}.iso`);
  const args = ['-as', 'mkisofs', '-quiet', '-V', volumeId, '-o', path];
  if (publisher) args.push('-publisher', publisher);
  await run('xorriso', [...args, tree]);
  return path;
}

/** What the installed osinfo-db knows decides the expectation for releases newer than it. */
function ifKnown(file: string, osId: string): string {
  return existsSync(join(OSINFO, 'os', file)) ? osId : 'unknown';
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtdesk-iso-'));
  home = join(dir, 'home');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('OS detection from ISO labels (osinfo-db)', () => {
  // Volume ids as the real release media carry them; each checked against the patterns in osinfo-db.
  const releases: [string, string, string | undefined, string][] = [
    ['debian-11.9-netinst', 'Debian 11.9.0 amd64 n', undefined, 'debian11'],
    ['ubuntu-22.04.4-desktop', 'Ubuntu 22.04.4 LTS amd64', undefined, 'ubuntu22.04'],
    ['fedora-37-workstation', 'Fedora-WS-Live-37-1-7', undefined, 'fedora37'],
    ['alpine-3.17.3-standard', 'alpine-std 3.17.3 x86_64', undefined, 'alpinelinux3.17'],
    ['rhel-9.0-dvd', 'RHEL-9-0-0-BaseOS-x86_64', undefined, 'rhel9.0'],
    ['windows-7-sp1-ultimate', 'GSP1RMCULXFRER_EN_DVD', 'MICROSOFT CORPORATION', 'win7'],
    // Newer than the osinfo-db in Debian 12 (20221203): detected only once the database knows them.
    ['debian-12.5-netinst', 'Debian 12.5.0 amd64 n', undefined, ifKnown('debian.org/debian-12.xml', 'debian12')],
    ['ubuntu-24.04-desktop', 'Ubuntu 24.04 LTS amd64', undefined, ifKnown('ubuntu.com/ubuntu-24.04.xml', 'ubuntu24.04')],
    ['alpine-3.19.1-standard', 'alpine-std 3.19.1 x86_64', undefined, ifKnown('alpinelinux.org/alpinelinux-3.19.xml', 'alpinelinux3.19')],
    // osinfo-db's own catch-all for Fedora releases after its newest: the database says "Fedora, version unknown".
    ['fedora-40-workstation', 'Fedora-WS-Live-40-1-14', undefined, ifKnown('fedoraproject.org/fedora-40.xml', 'fedora40') === 'unknown' ? 'fedora-unknown' : 'fedora40'],
    ['made-up', 'VIRTDESK MADE UP 1.0', 'NOBODY', 'unknown'],
  ];

  it.each(releases)('%s (volume id %s, publisher %s) is detected as %s', async (name, volumeId, publisher, expected) => {
    const library = new IsoLibrary({ home });
    const { label, detection } = await library.detect(await buildIso(name, volumeId, publisher));
    expect(label.volumeId).toBe(volumeId);
    if (publisher) expect(label.publisherId).toBe(publisher);
    expect(detection.osId).toBe(expected);
    if (detection.osId === 'unknown') {
      expect('reason' in detection && detection.reason).toMatch(/No operating system in osinfo-db \d+ has install media labelled/);
      expect('name' in detection).toBe(false);
    } else {
      const os = detection as DetectedOs;
      expect(os.name.length).toBeGreaterThan(0);
      expect(os.recommended.memoryMiB).toBeGreaterThan(0);
      expect(os.recommended.diskBytes).toBeGreaterThan(0);
    }
  });

  it('gives name, version and recommended resources from the database', async () => {
    const library = new IsoLibrary({ home });
    const { detection } = await library.detect(await buildIso('debian-11', 'Debian 11.9.0 amd64 n'));
    expect(detection).toMatchObject({ osId: 'debian11', name: 'Debian 11', version: '11', arch: 'x86_64', recommended: { memoryMiB: 1024, vcpus: 1, diskBytes: 20 * 2 ** 30 } });
  });

  it('does not pick one when the media fits several OSes (Windows 10 and 11 share their labels)', async () => {
    const library = new IsoLibrary({ home });
    const { detection } = await library.detect(await buildIso('windows-11-23h2', 'CCCOMA_X64FRE_EN-US_DV9', 'MICROSOFT CORPORATION'));
    expect(detection.osId).toBe('unknown');
    expect('candidates' in detection && detection.candidates?.map((c) => c.osId)).toEqual(['win10', 'win11']);
    expect('reason' in detection && detection.reason).toMatch(/cannot be told apart/);
  });

  it('builds the index once per osinfo-db version and caches it on disk', async () => {
    clearOsinfoMemoryCache();
    const cacheDir = join(dir, 'cache');
    const first = await loadOsinfoIndex({ cacheDir });
    expect(first.oses.length).toBeGreaterThan(500);
    expect(first.problems).toEqual([]);
    expect(await readdir(cacheDir)).toEqual([`osinfo-${first.version}.json`]);
    clearOsinfoMemoryCache();
    const started = Date.now();
    const second = await loadOsinfoIndex({ cacheDir });
    expect(second.oses.length).toBe(first.oses.length);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await loadOsinfoIndex({ cacheDir })).toBe(second);
  });

  it('says "unknown" for everything, and why, when osinfo-db is missing', async () => {
    const library = new IsoLibrary({ home, osinfoDir: join(dir, 'no-osinfo') });
    const { detection } = await library.detect(await buildIso('debian-11-b', 'Debian 11.9.0 amd64 n'));
    expect(detection).toMatchObject({ osId: 'unknown', reason: expect.stringMatching(/osinfo-db\) is not installed/) });
  });
});

describe('ISO library', () => {
  it('adds, lists, persists and removes ISOs; refuses non-ISOs and duplicates', async () => {
    const library = new IsoLibrary({ home: join(dir, 'libhome') });
    const iso = await buildIso('lib-debian', 'Debian 11.9.0 amd64 n');
    const entry = await library.add(iso);
    expect(entry).toMatchObject({ name: 'lib-debian.iso', path: iso, detection: { osId: 'debian11' } });
    expect(entry.sizeBytes).toBeGreaterThan(0);

    const dup = await library.add(iso, { name: 'again.iso' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(EngineError);
    expect((dup as EngineError).code).toBe('already-exists');

    const text = join(dir, 'notes.iso');
    await writeFile(text, 'not an iso');
    await expect(library.add(text)).rejects.toThrow(/not an ISO 9660 image/);
    await expect(library.add('relative.iso')).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(library.add(join(dir, 'missing.iso'))).rejects.toMatchObject({ code: 'not-found' });

    const reopened = new IsoLibrary({ home: join(dir, 'libhome') });
    const { isos } = await reopened.list();
    expect(isos.map((i) => [i.name, i.detection.osId, i.missing])).toEqual([['lib-debian.iso', 'debian11', false]]);

    const removed = await reopened.remove('lib-debian.iso', { deleteFile: true });
    expect(removed.deletedFile).toBe(false);
    expect(existsSync(iso)).toBe(true);
    expect((await reopened.list()).isos).toEqual([]);
  });
});
