import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTempFileOf, removeStaleTempFiles, writeFileAtomic } from '../../../engine/store/atomic-write';
import { assertDocumentId, isDocumentId } from '../../../engine/store/document-id';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtdesk-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('creates and replaces a file with a new inode each time and leaves no temp file', async () => {
    const path = join(dir, 'vm.json');
    await writeFileAtomic(path, 'one');
    const first = await stat(path);
    await writeFileAtomic(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    expect((await stat(path)).ino).not.toBe(first.ino);
    expect(first.mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['vm.json']);
  });

  it('fails without leaving a temp file when the folder is missing or the rename fails', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'vm.json'), 'x')).rejects.toThrow(/ENOENT/);
    // Renaming a file over a non-empty directory fails after the temp file was written.
    await mkdir(join(dir, 'busy'));
    await writeFile(join(dir, 'busy', 'inside'), '');
    await expect(writeFileAtomic(join(dir, 'busy'), 'new')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['busy']);
    expect(await readdir(join(dir, 'busy'))).toEqual(['inside']);
  });
});

describe('temp files', () => {
  it('recognises only its own temp names and removes them', async () => {
    expect(isTempFileOf('.vm.json.123.abcdef.tmp', 'vm.json')).toBe(true);
    expect(isTempFileOf('vm.json', 'vm.json')).toBe(false);
    expect(isTempFileOf('.network.json.1.a.tmp', 'vm.json')).toBe(false);
    expect(isTempFileOf('serial.log.tmp', 'vm.json')).toBe(false);
    await writeFile(join(dir, '.vm.json.1.a.tmp'), '');
    await writeFile(join(dir, 'serial.log'), '');
    await removeStaleTempFiles(dir, 'vm.json');
    expect(await readdir(dir)).toEqual(['serial.log']);
  });
});

describe('document ids', () => {
  it('accepts lowercase UUIDs only', () => {
    expect(isDocumentId('0b5c1f9e-6d7a-4e0b-9a43-2f3c4d5e6f70')).toBe(true);
    expect(isDocumentId('0B5C1F9E-6D7A-4E0B-9A43-2F3C4D5E6F70')).toBe(false);
    expect(isDocumentId('../0b5c1f9e-6d7a-4e0b-9a43-2f3c4d5e6f70')).toBe(false);
    expect(isDocumentId('.lock')).toBe(false);
    expect(() => assertDocumentId('..', 'VM')).toThrow(/not a valid VM id/);
    expect(() => assertDocumentId(42, 'VM')).toThrow(/not a valid VM id/);
  });
});
