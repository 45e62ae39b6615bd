import { readdir, readFile, readlink, rename, writeFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDocumentCache, type CacheChange, type DocumentCache, type DocumentStore } from '../../../engine/store';
import { localChangeListenerCount } from '../../../engine/store/local-changes';
import { countingParse, makeTempHome, newDoc, openTestStore, TEST_SCHEMA_VERSION, type TestDoc } from './helpers/test-documents';

let temp: Awaited<ReturnType<typeof makeTempHome>>;
let store: DocumentStore<TestDoc>;
let parses = 0;
const caches: DocumentCache<TestDoc>[] = [];

beforeEach(async () => {
  temp = await makeTempHome();
  parses = 0;
  store = openTestStore(temp.root, { parse: countingParse(() => (parses += 1)) });
});
afterEach(async () => {
  for (const cache of caches.splice(0)) cache.close();
  await temp.cleanup();
});

async function open(options: Parameters<typeof openDocumentCache>[1] = {}): Promise<DocumentCache<TestDoc>> {
  const cache = await openDocumentCache(store, options);
  caches.push(cache);
  return cache;
}

/** Collects the cache's change reports; `until` waits for one that matches. */
function changesOf(cache: DocumentCache<TestDoc>) {
  const seen: CacheChange[][] = [];
  cache.onChange((changes) => seen.push(changes));
  return {
    seen,
    flat: () => seen.flat(),
    async until(match: (change: CacheChange) => boolean, timeoutMs = 3000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!seen.flat().some(match)) {
        if (Date.now() > deadline) throw new Error(`no matching change within ${timeoutMs} ms; saw ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

/** What another process (or a person with an editor) does: write the file directly, atomically. */
async function writeByHand(id: string, content: string | Record<string, unknown>): Promise<void> {
  const folder = join(temp.root, id);
  await mkdir(folder, { recursive: true });
  const text = typeof content === 'string' ? content : JSON.stringify({ schemaVersion: TEST_SCHEMA_VERSION, ...content });
  await writeFile(join(folder, '.tmp-hand'), text);
  await rename(join(folder, '.tmp-hand'), join(folder, 'vm.json'));
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Number of inotify watches this process holds (fs.watch on Linux), from /proc/self/fdinfo. */
async function inotifyWatches(): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target !== 'anon_inode:inotify') continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    count += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
  }
  return count;
}

describe('loading', () => {
  it('holds what the store lists: the same documents in the same order, and the same problems', async () => {
    for (const name of ['b', 'a', 'c']) await store.create(newDoc(name));
    const bad = crypto.randomUUID();
    await writeByHand(bad, '{ not json');
    const cache = await open();
    expect(cache.list()).toEqual(await store.list());
    expect(cache.items().map((doc) => doc.name)).toEqual(['a', 'b', 'c']);
    expect(cache.problemIds()).toEqual([bad]);
  });

  it('hands out frozen documents, so a reader that changes one fails loudly instead of changing every later answer', async () => {
    const doc = await store.create(newDoc('web', { nics: [{ mac: '52:54:00:00:00:01', model: 'virtio' }] }));
    const cache = await open();
    const cached = cache.get(doc.id)!;
    expect(() => {
      (cached as { name: string }).name = 'changed';
    }).toThrow(TypeError);
    expect(() => (cached.nics as unknown[]).push({})).toThrow(TypeError);
    expect(cache.get(doc.id)!.name).toBe('web');
  });
});

describe('writes of this process', () => {
  it('are in the cache as soon as the write returns, from this store instance and from another one on the same root', async () => {
    const cache = await open();
    const changes = changesOf(cache);
    const doc = await store.create(newDoc('web'));
    expect(cache.get(doc.id)?.name).toBe('web');
    // (The watcher's later report of the same write comes as 'unchanged'.)
    expect(changes.flat().filter((change) => change.document !== 'unchanged')).toEqual([{ id: doc.id, document: 'changed' }]);

    const other = openTestStore(temp.root);
    await other.update(doc.id, () => ({ counter: 7 }));
    expect(cache.get(doc.id)?.counter).toBe(7);
    await other.rename(doc.id, 'www');
    expect(cache.resolve('www').id).toBe(doc.id);
    expect(() => cache.resolve('web')).toThrow(/No VM "web"/);

    await store.delete(doc.id);
    expect(cache.get(doc.id)).toBeUndefined();
    expect(changes.flat().filter((change) => change.document !== 'unchanged').at(-1)).toEqual({ id: doc.id, document: 'removed' });
  });

  it('are not reported a second time when the watcher sees the same file, and are not parsed again', async () => {
    const cache = await open({ debounceMs: 5 });
    const changes = changesOf(cache);
    const doc = await store.create(newDoc('web'));
    const parsesAfterWrite = parses;
    // The watcher's report of our own write arrives and finds the signature it already has.
    await changes.until((change) => change.document === 'unchanged');
    expect(changes.flat().filter((change) => change.document === 'changed')).toEqual([{ id: doc.id, document: 'changed' }]);
    expect(parses).toBe(parsesAfterWrite);
  });
});

describe('writes of other processes', () => {
  it('show up within a second (create, edit, delete), and only the changed file is read and parsed again', async () => {
    const docs = [];
    for (let i = 0; i < 20; i++) docs.push(await store.create(newDoc(`vm-${i}`)));
    const cache = await open({ debounceMs: 5 });
    const changes = changesOf(cache);

    const fresh = newDoc('from-cli');
    await writeByHand(fresh.id, fresh);
    await changes.until((change) => change.id === fresh.id, 1000);
    expect(cache.get(fresh.id)?.name).toBe('from-cli');

    const before = parses;
    const target = docs[3]!;
    await writeByHand(target.id, { ...target, counter: 42 });
    await waitUntil('the edit', () => cache.get(target.id)?.counter === 42, 1000);
    expect(parses - before).toBe(1);

    await rm(join(temp.root, target.id), { recursive: true });
    await waitUntil('the delete', () => cache.get(target.id) === undefined, 1000);
    expect(changes.flat()).toContainEqual({ id: target.id, document: 'removed' });
    expect(cache.list()).toEqual(await store.list());
  });

  it('are found by the polling scan alone when fs.watch is off', async () => {
    const cache = await open({ useFsWatch: false, pollIntervalMs: 100 });
    const doc = newDoc('polled');
    await writeByHand(doc.id, doc);
    await waitUntil('the polled create', () => cache.get(doc.id) !== undefined, 1000);
  });

  it('fold a burst of edits into a few re-reads and end on the last version', async () => {
    const doc = await store.create(newDoc('busy'));
    const cache = await open({ debounceMs: 50 });
    const changes = changesOf(cache);
    const before = parses;
    for (let i = 1; i <= 30; i++) await writeByHand(doc.id, { ...doc, counter: i });
    await waitUntil('the last edit', () => cache.get(doc.id)?.counter === 30, 2000);
    // 30 writes, but the debounce folded them: far fewer reads and reports.
    expect(parses - before).toBeLessThan(15);
    expect(changes.seen.length).toBeLessThan(15);
  });
});

describe('corrupt files', () => {
  it('drop the document instead of keeping its old version, report the problem like the store, and recover when fixed', async () => {
    const doc = await store.create(newDoc('web'));
    const cache = await open({ debounceMs: 5 });
    await writeByHand(doc.id, '{ "schemaVersion": 2, "id": ');
    await waitUntil('the problem', () => cache.problemOf(doc.id) !== undefined, 1000);
    expect(cache.get(doc.id)).toBeUndefined();
    expect(cache.items()).toEqual([]);
    const storeError = await store.get(doc.id).catch((error: unknown) => error);
    expect(() => cache.resolve(doc.id)).toThrow((storeError as Error).message);
    expect(cache.problemOf(doc.id)).toMatchObject({ code: 'invalid-state', details: { file: store.fileOf(doc.id) } });
    expect(cache.list().problems).toEqual((await store.list()).problems);

    await writeByHand(doc.id, { ...doc, counter: 3 });
    await waitUntil('the fixed file', () => cache.get(doc.id)?.counter === 3, 1000);
    expect(cache.problemOf(doc.id)).toBeUndefined();
  });

  it('that fail validation (not only JSON) are problems too', async () => {
    const doc = await store.create(newDoc('web'));
    const cache = await open({ debounceMs: 5 });
    await writeByHand(doc.id, { ...doc, memoryMiB: -1 });
    await waitUntil('the problem', () => cache.problemOf(doc.id) !== undefined, 1000);
    expect(cache.problemOf(doc.id)!.message).toMatch(/is not a valid VM definition/);
  });
});

describe('coherence', () => {
  it('matches the disk after concurrent creates, renames, edits and deletes from two store instances and by hand', async () => {
    const cache = await open({ debounceMs: 5 });
    const other = openTestStore(temp.root);
    const docs = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? store : other).create(newDoc(`vm-${i}`))));
    await Promise.all(
      docs.map(async (doc, i) => {
        if (i % 4 === 0) await other.rename(doc.id, `renamed-${i}`);
        if (i % 4 === 1) await store.update(doc.id, () => ({ counter: i }));
        if (i % 4 === 2) await writeByHand(doc.id, { ...doc, counter: 100 + i });
        if (i % 4 === 3) await (i % 3 ? store : other).delete(doc.id);
      }),
    );
    await cache.refresh();
    expect(cache.list()).toEqual(await store.list());
  });

  it('never lets a read that started before a write of this process overwrite it', async () => {
    const doc = await store.create(newDoc('web'));
    // A store whose reads finish only when let go: the read sees the old file, the write lands, then the read returns.
    let gate: Promise<void> = Promise.resolve();
    const slow: DocumentStore<TestDoc> = { ...store, read: async (id, known) => {
      const reading = await store.read(id, known);
      await gate;
      return reading;
    } };
    const cache = await openDocumentCache(slow, { useFsWatch: false, pollIntervalMs: 60_000 });
    caches.push(cache);
    for (let i = 1; i <= 3; i++) {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      // Another process's edit the cache has not heard of: the refresh reads it, slowly.
      await writeByHand(doc.id, { ...doc, description: `by hand ${i}` });
      const refreshing = cache.refresh([doc.id]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await store.update(doc.id, () => ({ counter: i }));
      expect(cache.get(doc.id)?.counter).toBe(i);
      gate = Promise.resolve();
      release();
      await refreshing;
      expect(cache.get(doc.id)?.counter).toBe(i);
    }
  });
});

describe('close', () => {
  it('lets go of its watchers and its listener of local writes, and reports nothing afterwards', async () => {
    for (let i = 0; i < 5; i++) await store.create(newDoc(`vm-${i}`));
    const watchesBefore = await inotifyWatches();
    const cache = await openDocumentCache(store, { debounceMs: 5 });
    // The root and the five folders.
    expect((await inotifyWatches()) - watchesBefore).toBe(6);
    expect(localChangeListenerCount(temp.root)).toBe(1);
    const changes = changesOf(cache);
    cache.close();
    expect(await inotifyWatches()).toBe(watchesBefore);
    expect(localChangeListenerCount(temp.root)).toBe(0);
    const doc = newDoc('late');
    await writeByHand(doc.id, doc);
    await store.create(newDoc('later'));
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(changes.seen).toEqual([]);
  });
});
