import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DocumentStore } from '../../../engine/store';
import { makeTempHome, newDoc, openTestStore, type TestDoc } from './helpers/test-documents';

let temp: Awaited<ReturnType<typeof makeTempHome>>;
let store: DocumentStore<TestDoc>;
const stops: (() => void)[] = [];

beforeEach(async () => {
  temp = await makeTempHome();
  store = openTestStore(temp.root);
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await temp.cleanup();
});

/** Collects reported ids; `next(id)` resolves with the time the id was reported. */
function recorder() {
  const seen: { ids: string[]; at: number }[] = [];
  const waiting: { id: string; resolve: (at: number) => void }[] = [];
  return {
    seen,
    onChange(ids: string[]) {
      const at = Date.now();
      seen.push({ ids, at });
      for (const waiter of [...waiting]) {
        if (ids.includes(waiter.id)) {
          waiting.splice(waiting.indexOf(waiter), 1);
          waiter.resolve(at);
        }
      }
    },
    next(id: string, timeoutMs = 3000): Promise<number> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no change reported for ${id} within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({ id, resolve: (at) => (clearTimeout(timer), resolve(at)) });
      });
    },
  };
}

for (const useFsWatch of [true, false]) {
  describe(useFsWatch ? 'with fs.watch' : 'with polling alone', () => {
    it('reports create, update and delete of a document within a second', async () => {
      const changes = recorder();
      stops.push(store.watch(changes.onChange, { useFsWatch }));
      const doc = newDoc('web');

      let seen = changes.next(doc.id);
      let written = Date.now();
      await store.create(doc);
      expect((await seen) - written).toBeLessThan(1000);

      seen = changes.next(doc.id);
      written = Date.now();
      await store.update(doc.id, () => ({ counter: 1 }));
      expect((await seen) - written).toBeLessThan(1000);

      seen = changes.next(doc.id);
      written = Date.now();
      await store.delete(doc.id);
      expect((await seen) - written).toBeLessThan(1000);
    });
  });
}

describe('watch', () => {
  it('reports a document that existed before the watcher started only when it changes', async () => {
    const doc = await store.create(newDoc('old'));
    const changes = recorder();
    stops.push(store.watch(changes.onChange));
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(changes.seen).toEqual([]);
    const seen = changes.next(doc.id);
    await store.rename(doc.id, 'renamed');
    await seen;
  });

  it('does not report writes of files that are not the document (serial.log, lock, temp files)', async () => {
    const doc = await store.create(newDoc('web'));
    const changes = recorder();
    stops.push(store.watch(changes.onChange));
    await writeFile(join(store.folderOf(doc.id), 'serial.log'), 'boot');
    await writeFile(join(store.folderOf(doc.id), '.vm.json.1.a.tmp'), '{');
    await writeFile(join(temp.root, '.lock'), '{}');
    await mkdir(join(temp.root, 'not-an-id'));
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(changes.seen).toEqual([]);
  });

  it('sees a document written into a folder created just before (the create path of another process)', async () => {
    const changes = recorder();
    stops.push(store.watch(changes.onChange, { pollIntervalMs: 60_000 })); // fs.watch alone must catch it
    const doc = newDoc('web');
    await mkdir(store.folderOf(doc.id), { recursive: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const seen = changes.next(doc.id, 1000);
    await writeFile(store.fileOf(doc.id), JSON.stringify({ ...doc, schemaVersion: 2 }));
    await seen;
  });

  it('stops reporting after stop', async () => {
    const changes = recorder();
    const stop = store.watch(changes.onChange, { pollIntervalMs: 50 });
    stop();
    await store.create(newDoc('web'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changes.seen).toEqual([]);
  });

  it('keeps watching when the callback throws, and reports the error', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    stops.push(
      store.watch(
        () => {
          calls++;
          throw new Error('listener broke');
        },
        { onError: (error) => errors.push(error) },
      ),
    );
    await store.create(newDoc('a'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await store.create(newDoc('b'));
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(String(errors[0])).toMatch(/listener broke/);
  });
});
