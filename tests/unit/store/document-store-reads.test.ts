import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DocumentStore } from '../../../engine/store';
import { countingParse, makeTempHome, newDoc, openTestStore, TEST_SCHEMA_VERSION, type TestDoc } from './helpers/test-documents';

let temp: Awaited<ReturnType<typeof makeTempHome>>;
let store: DocumentStore<TestDoc>;
let parses = 0;
const stops: (() => void)[] = [];

beforeEach(async () => {
  temp = await makeTempHome();
  parses = 0;
  store = openTestStore(temp.root, { parse: countingParse(() => (parses += 1)) });
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await temp.cleanup();
});

async function writeByHand(id: string, doc: Record<string, unknown>): Promise<void> {
  await writeFile(join(temp.root, id, '.hand.tmp'), JSON.stringify({ schemaVersion: TEST_SCHEMA_VERSION, ...doc }));
  await rename(join(temp.root, id, '.hand.tmp'), join(temp.root, id, 'vm.json'));
}

describe('list re-reads only what changed', () => {
  it('parses each file once until it changes, and then only that one', async () => {
    const docs: TestDoc[] = [];
    for (let i = 0; i < 10; i++) docs.push(await store.create(newDoc(`vm-${i}`)));
    const reader = openTestStore(temp.root, { parse: countingParse(() => (parses += 1)) });
    parses = 0;
    await reader.list();
    expect(parses).toBe(10);
    await reader.list();
    expect(parses).toBe(10);
    await writeByHand(docs[4]!.id, { ...docs[4]!, counter: 9 });
    const { items } = await reader.list();
    expect(parses).toBe(11);
    expect(items.find((doc) => doc.id === docs[4]!.id)?.counter).toBe(9);
  });

  it('hands out copies: changing a listed document changes neither the file nor the next list', async () => {
    const doc = await store.create(newDoc('web', { nics: [{ mac: '52:54:00:00:00:01', model: 'virtio' }] }));
    const first = (await store.list()).items[0]!;
    first.name = 'changed';
    first.nics.push({ mac: '52:54:00:00:00:02', model: 'e1000' });
    const second = (await store.list()).items[0]!;
    expect(second).toEqual(doc);
    expect(await store.findByName('web')).toEqual(doc);
  });

  it('sees a file replaced in place with the same size (a hand edit), because mtime changes', async () => {
    const doc = await store.create(newDoc('web', { counter: 1 }));
    await store.list();
    const file = store.fileOf(doc.id);
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(file, 'utf8');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await writeFile(file, text.replace('"counter": 1', '"counter": 2'));
    expect((await store.list()).items[0]!.counter).toBe(2);
  });
});

describe('read', () => {
  it('says unchanged for a known signature, and gives the new version once the file changes', async () => {
    const doc = await store.create(newDoc('web'));
    const first = await store.read(doc.id);
    expect(first.status).toBe('ok');
    const signature = (first as { signature: string }).signature;
    expect(await store.read(doc.id, signature)).toEqual({ status: 'unchanged', signature });
    await store.update(doc.id, () => ({ counter: 5 }));
    const after = await store.read(doc.id, signature);
    expect(after).toMatchObject({ status: 'ok', doc: { counter: 5 } });
    expect(Object.isFrozen((after as { doc: TestDoc }).doc)).toBe(true);
    await store.delete(doc.id);
    expect(await store.read(doc.id, signature)).toEqual({ status: 'missing' });
  });
});

describe('watch with side files', () => {
  it('reports a document whose side file appears, changes or goes, even nested, while vm.json stays', async () => {
    const doc = await store.create(newDoc('web'));
    const reported: string[][] = [];
    stops.push(store.watch((ids) => reported.push(ids), { sideFiles: ['template.json', 'saved/state.json'], debounceMs: 5, pollIntervalMs: 100 }));
    const waitForReport = async (what: string) => {
      const count = reported.length;
      const deadline = Date.now() + 2000;
      while (reported.length === count) {
        if (Date.now() > deadline) throw new Error(`no report after ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(reported.at(-1)).toEqual([doc.id]);
    };
    await writeFile(join(temp.root, doc.id, 'template.json'), '{}');
    await waitForReport('the template mark');
    await mkdir(join(temp.root, doc.id, 'saved'));
    await writeFile(join(temp.root, doc.id, 'saved', 'state.json'), '{}');
    await waitForReport('the saved state');
    // Files that are not side files (a running VM's serial log) are no change.
    const before = reported.length;
    await writeFile(join(temp.root, doc.id, 'serial.log'), 'boot');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reported.length).toBe(before);
  });
});
