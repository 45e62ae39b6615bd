/**
 * A second process for the cross-process store tests, run as `node --import tsx store-child.ts MODE ROOT …`.
 * It prints one JSON line per event so the parent can follow it.
 *   race ROOT NAME START_AT_MS   create NAME at the given wall-clock time; print the outcome
 *   serve ROOT                   read commands from stdin: `create NAME` / `update ID COUNTER`
 *   write-loop ROOT              create and update documents forever, one ack line per completed write
 */
import { createInterface } from 'node:readline';
import { EngineError } from '../../../../engine/api/errors';
import { newDoc, openTestStore, type TestDoc } from './test-documents';

const [mode, root, ...rest] = process.argv.slice(2);
if (!mode || !root) throw new Error('usage: store-child.ts MODE ROOT …');
const store = openTestStore(root);

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

async function race(name: string, startAt: number): Promise<void> {
  await store.list(); // warm up module loading and the file system before the start line
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  try {
    const doc = await store.create(newDoc(name));
    emit({ event: 'created', id: doc.id });
  } catch (error) {
    emit({ event: 'failed', code: error instanceof EngineError ? error.code : 'unknown', message: String(error) });
  }
}

async function serve(): Promise<void> {
  emit({ event: 'ready' });
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, arg, value] = line.trim().split(' ');
    if (command === 'create' && arg) {
      const doc = await store.create(newDoc(arg));
      emit({ event: 'done', id: doc.id, at: Date.now() });
    } else if (command === 'update' && arg && value) {
      const doc = await store.update(arg, () => ({ counter: Number(value) }));
      emit({ event: 'done', id: doc.id, at: Date.now() });
    }
  }
}

async function writeLoop(): Promise<void> {
  const mine: TestDoc[] = (await store.list()).items;
  emit({ event: 'ready' });
  for (let round = 0; ; round++) {
    if (mine.length < 3 || round % 4 === 0) {
      const doc = await store.create(newDoc(`vm-${process.pid}-${round}`));
      mine.push(doc);
      emit({ event: 'ack', op: 'create', id: doc.id, name: doc.name });
    } else {
      const target = mine[Math.floor(Math.random() * mine.length)]!;
      const doc = await store.update(target.id, (fresh) => ({ counter: fresh.counter + 1, description: `x`.repeat(fresh.counter % 500) }));
      emit({ event: 'ack', op: 'update', id: doc.id, counter: doc.counter });
    }
  }
}

if (mode === 'race') await race(rest[0] ?? 'racer', Number(rest[1]));
else if (mode === 'serve') await serve();
else if (mode === 'write-loop') await writeLoop();
else throw new Error(`unknown mode ${mode}`);
