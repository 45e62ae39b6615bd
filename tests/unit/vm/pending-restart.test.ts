import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addPendingRestart, readPendingRestart } from '../../../engine/vm/runtime/pending-restart';

let runDir: string;

beforeEach(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'vd-pending-'));
});
afterEach(async () => {
  await rm(runDir, { recursive: true, force: true });
});

describe('pending-restart.json', () => {
  it('is empty until an edit adds fields, and keeps them sorted without repeats', async () => {
    expect(await readPendingRestart({ runDir })).toEqual([]);
    await addPendingRestart({ runDir }, ['vcpus', 'disks']);
    await addPendingRestart({ runDir }, ['vcpus', 'machine']);
    expect(await readPendingRestart({ runDir })).toEqual(['disks', 'machine', 'vcpus']);
  });

  it('keeps every field of edits made at the same moment, and leaves no lock or temp file behind', async () => {
    const fields = Array.from({ length: 12 }, (_, index) => `field${String(index).padStart(2, '0')}`);
    await Promise.all(fields.map((field) => addPendingRestart({ runDir }, [field])));
    expect(await readPendingRestart({ runDir })).toEqual(fields);
    expect(await readdir(runDir)).toEqual(['pending-restart.json']);
  });
});
