import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnStoreChild, type StoreChild } from './helpers/child-process';
import { makeTempHome, openTestStore } from './helpers/test-documents';

// Child processes load TypeScript through tsx; on a busy 2-core machine that takes a while.
const CHILD_TIMEOUT_MS = 60_000;

let temp: Awaited<ReturnType<typeof makeTempHome>>;
const children: StoreChild[] = [];
const stops: (() => void)[] = [];

beforeEach(async () => {
  temp = await makeTempHome();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await Promise.all(children.splice(0).map((child) => child.kill()));
  await temp.cleanup();
});

function child(args: string[]): StoreChild {
  const spawned = spawnStoreChild(args, { ...process.env, VIRTDESK_HOME: temp.home });
  children.push(spawned);
  return spawned;
}

describe('two processes', () => {
  it('racing to create the same name: exactly one wins, the other gets already-exists', { timeout: 4 * CHILD_TIMEOUT_MS }, async () => {
    for (let round = 0; round < 2; round++) {
      const name = `contested-${round}`;
      // Both wait until the same instant after loading, so the creates really overlap.
      const startAt = Date.now() + 4000;
      const racers = [child(['race', temp.root, name, String(startAt)]), child(['race', temp.root, name, String(startAt)])];
      const outcomes = await Promise.all(racers.map((racer) => racer.waitFor((event) => event.event === 'created' || event.event === 'failed', CHILD_TIMEOUT_MS)));
      expect(outcomes.filter((outcome) => outcome.event === 'created')).toHaveLength(1);
      const loser = outcomes.find((outcome) => outcome.event === 'failed');
      expect(loser?.code).toBe('already-exists');
      const stored = (await openTestStore(temp.root).list()).items.filter((doc) => doc.name === name);
      expect(stored).toHaveLength(1);
      await Promise.all(racers.map((racer) => racer.exited));
    }
  });

  for (const useFsWatch of [true, false]) {
    it(`the watcher ${useFsWatch ? '' : '(polling alone) '}sees a create and an edit by another process within a second`, { timeout: 2 * CHILD_TIMEOUT_MS }, async () => {
      const store = openTestStore(temp.root);
      const seen: { ids: string[]; at: number }[] = [];
      stops.push(store.watch((ids) => seen.push({ ids, at: Date.now() }), { useFsWatch }));
      const writer = child(['serve', temp.root]);
      await writer.waitFor((event) => event.event === 'ready', CHILD_TIMEOUT_MS);

      const delays: number[] = [];
      const waitSeen = async (id: string, writtenAt: number) => {
        const deadline = Date.now() + 3000;
        while (Date.now() < deadline) {
          const hit = seen.find((change) => change.ids.includes(id) && change.at >= writtenAt - 50);
          if (hit) return hit.at - writtenAt;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error(`the watcher did not report ${id} within 3 s`);
      };

      writer.send('create web');
      const created = await writer.waitFor((event) => event.event === 'done', CHILD_TIMEOUT_MS);
      delays.push(await waitSeen(String(created.id), Number(created.at)));
      expect((await store.get(String(created.id))).name).toBe('web');

      for (let counter = 1; counter <= 3; counter++) {
        seen.length = 0;
        writer.send(`update ${String(created.id)} ${counter}`);
        const printedBefore = writer.events.length;
        const updated = await writer.waitFor((event) => event.event === 'done' && writer.events.indexOf(event) >= printedBefore, CHILD_TIMEOUT_MS);
        delays.push(await waitSeen(String(updated.id), Number(updated.at)));
        expect((await store.get(String(created.id))).counter).toBe(counter);
      }
      console.log(`watcher delay (${useFsWatch ? 'fs.watch + polling' : 'polling alone'}), ms: ${delays.join(', ')}`);
      for (const delay of delays) expect(delay).toBeLessThan(1000);
    });
  }
});
