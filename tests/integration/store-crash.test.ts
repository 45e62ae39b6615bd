import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDocumentId } from '../../engine/store';
import { spawnStoreChild, type StoreChild } from '../unit/store/helpers/child-process';
import { makeTempHome, openTestStore } from '../unit/store/helpers/test-documents';

/**
 * A writer killed with SIGKILL at random points while it creates and updates definitions:
 * afterwards every document parses, no temp file is taken for a document, and every write the
 * writer acknowledged (printed after `create`/`update` returned) is on disk.
 */
const ITERATIONS = 30;

let temp: Awaited<ReturnType<typeof makeTempHome>>;
let current: StoreChild | undefined;

beforeAll(async () => {
  temp = await makeTempHome();
});
afterAll(async () => {
  await current?.kill();
  await temp.cleanup();
});

describe('store crash safety', () => {
  it(`keeps every acknowledged write across ${ITERATIONS} SIGKILLs of a writer`, { timeout: 600_000 }, async () => {
    const root = temp.root;
    const createdNames = new Map<string, string>(); // id -> name, acknowledged creates
    const ackedCounter = new Map<string, number>(); // id -> highest acknowledged counter
    const storedBefore = new Map<string, number>(); // id -> counter on disk after the previous kill
    let acks = 0;
    let lockLeftBehind = 0;
    let tempFilesLeftBehind = 0;

    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      current = spawnStoreChild(['write-loop', root], { ...process.env, VIRTDESK_HOME: temp.home });
      await current.waitFor((event) => event.event === 'ready', 60_000);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 400));
      await current.kill();
      const { signal } = await current.exited;
      // Dying of anything else (a lock timeout, a thrown error) would make this test meaningless.
      expect(signal, `iteration ${iteration}: the writer must die of our SIGKILL`).toBe('SIGKILL');

      for (const event of current.events) {
        if (event.event !== 'ack') continue;
        acks++;
        const id = String(event.id);
        if (event.op === 'create') createdNames.set(id, String(event.name));
        else ackedCounter.set(id, Math.max(ackedCounter.get(id) ?? 0, Number(event.counter)));
      }
      current = undefined;

      const entries = await readdir(root);
      if (entries.includes('.lock')) lockLeftBehind++;

      // Every document file on disk is complete JSON (read directly, not through the store).
      for (const id of entries.filter(isDocumentId)) {
        const files = await readdir(join(root, id));
        tempFilesLeftBehind += files.filter((file) => file.endsWith('.tmp')).length;
        if (!files.includes('vm.json')) continue;
        const text = await readFile(join(root, id, 'vm.json'), 'utf8');
        expect(() => JSON.parse(text), `${id}/vm.json after iteration ${iteration}`).not.toThrow();
      }

      const { items, problems } = await openTestStore(root).list();
      expect(problems, `iteration ${iteration}`).toEqual([]);
      const byId = new Map(items.map((doc) => [doc.id, doc]));
      for (const [id, name] of createdNames) {
        expect(byId.get(id)?.name, `acknowledged create of ${name} after iteration ${iteration}`).toBe(name);
      }
      for (const [id, counter] of ackedCounter) {
        const stored = byId.get(id)?.counter;
        expect(stored, `counter of ${id} after iteration ${iteration}`).toBeGreaterThanOrEqual(counter);
        // At most one write per kill (the one in flight) lands without its ack. Such a write stays on
        // disk, and a later writer counts on from it, so the bound starts from what was there before.
        expect(stored).toBeLessThanOrEqual(Math.max(counter, storedBefore.get(id) ?? 0) + 1);
      }
      for (const doc of items) storedBefore.set(doc.id, doc.counter);
    }

    console.log(
      `crash test: ${ITERATIONS} kills, ${acks} acknowledged writes, ${createdNames.size} documents; ` +
        `killed while holding the lock ${lockLeftBehind} times, ${tempFilesLeftBehind} temp files seen after kills`,
    );
    expect(acks).toBeGreaterThan(ITERATIONS);
    // The kills did land inside the critical section, so stale-lock recovery was exercised by the next writer.
    expect(lockLeftBehind).toBeGreaterThan(0);

    // The store is fully usable afterwards: a fresh writer takes the stale lock over and cleans temp files.
    const store = openTestStore(root);
    const started = Date.now();
    const some = (await store.list()).items[0]!;
    await store.update(some.id, (fresh) => ({ counter: fresh.counter + 1 }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await readdir(store.folderOf(some.id))).filter((file) => file.endsWith('.tmp'))).toEqual([]);
  });
});
