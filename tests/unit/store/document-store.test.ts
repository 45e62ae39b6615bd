import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import type { DocumentStore } from '../../../engine/store';
import { makeTempHome, newDoc, openTestStore, type TestDoc } from './helpers/test-documents';

let temp: Awaited<ReturnType<typeof makeTempHome>>;
let store: DocumentStore<TestDoc>;
const savedHome = process.env.VIRTDESK_HOME;

beforeEach(async () => {
  temp = await makeTempHome();
  process.env.VIRTDESK_HOME = temp.home;
  store = openTestStore(temp.root);
});

afterEach(async () => {
  if (savedHome === undefined) delete process.env.VIRTDESK_HOME;
  else process.env.VIRTDESK_HOME = savedHome;
  await temp.cleanup();
});

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

async function expectEngineError(promise: Promise<unknown>, code: string, message?: RegExp): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EngineError);
  expect((error as EngineError).code).toBe(code);
  if (message) expect((error as EngineError).message).toMatch(message);
  return error as EngineError;
}

describe('layout and basic operations', () => {
  it('creates <root>/<id>/vm.json with schemaVersion and reads it back', async () => {
    const doc = newDoc('web', { nics: [{ mac: '52:54:00:00:00:01', model: 'virtio' }] });
    const created = await store.create(doc);
    expect(created).toEqual(doc);
    expect(store.folderOf(doc.id)).toBe(join(temp.root, doc.id));
    expect(store.fileOf(doc.id)).toBe(join(temp.root, doc.id, 'vm.json'));
    const onDisk = await readJson(join(temp.root, doc.id, 'vm.json'));
    expect(onDisk.schemaVersion).toBe(2);
    expect(onDisk.name).toBe('web');
    expect(await store.get(doc.id)).toEqual(doc);
    expect((await stat(store.fileOf(doc.id))).mode & 0o777).toBe(0o600);
    expect((await readdir(store.folderOf(doc.id))).sort()).toEqual(['vm.json']);
  });

  it('lists documents sorted by name, finds by name and resolves ids or names', async () => {
    const b = await store.create(newDoc('beta'));
    const a = await store.create(newDoc('alpha'));
    const listed = await store.list();
    expect(listed.items.map((doc) => doc.name)).toEqual(['alpha', 'beta']);
    expect(listed.problems).toEqual([]);
    expect((await store.findByName('beta'))?.id).toBe(b.id);
    expect(await store.findByName('gamma')).toBeUndefined();
    expect((await store.resolve('alpha')).id).toBe(a.id);
    expect((await store.resolve(a.id.toUpperCase())).name).toBe('alpha');
    await expectEngineError(store.resolve('gamma'), 'not-found', /gamma/);
  });

  it('returns an empty list when the root does not exist yet', async () => {
    expect(await store.list()).toEqual({ items: [], problems: [] });
  });

  it('throws not-found for a missing id on get, update and delete', async () => {
    const id = crypto.randomUUID();
    await expectEngineError(store.get(id), 'not-found');
    await expectEngineError(store.update(id, () => ({ counter: 1 })), 'not-found');
    await expectEngineError(store.delete(id), 'not-found');
  });

  it('refuses ids that are not lowercase UUIDs, so no path can escape the root', async () => {
    for (const bad of ['../etc', '..', 'web', '', '/tmp/x', `${crypto.randomUUID()}/..`, crypto.randomUUID().toUpperCase()]) {
      await expectEngineError(store.get(bad), 'invalid-argument', /not a valid VM id/);
      expect(() => store.folderOf(bad)).toThrow(EngineError);
      await expectEngineError(store.delete(bad), 'invalid-argument');
    }
    await expectEngineError(store.create({ ...newDoc('x'), id: '../../evil' }), 'invalid-argument');
    expect(await readdir(temp.home)).toEqual([]);
  });

  it('refuses a second document with the same id', async () => {
    const doc = await store.create(newDoc('one'));
    await expectEngineError(store.create({ ...doc, name: 'two' }), 'already-exists', /id/);
  });

  it('passes the parser error through on an invalid create and writes nothing', async () => {
    const bad = { ...newDoc('ok'), name: '' };
    await expectEngineError(store.create(bad), 'invalid-argument', /name/);
    expect((await store.list()).items).toEqual([]);
  });
});

describe('update', () => {
  it('applies the change on fresh state and returns the stored result', async () => {
    const doc = await store.create(newDoc('web'));
    const updated = await store.update(doc.id, (fresh) => ({ counter: fresh.counter + 5 }));
    expect(updated.counter).toBe(5);
    const again = await store.update(doc.id, (fresh) => ({ counter: fresh.counter + 1 }));
    expect(again.counter).toBe(6);
    expect((await store.get(doc.id)).counter).toBe(6);
  });

  it('accepts a mutator that edits the fresh object in place', async () => {
    const doc = await store.create(newDoc('web', { nics: [{ mac: '52:54:00:00:00:01', model: 'virtio' }] }));
    await store.update(doc.id, (fresh) => {
      fresh.nics[0]!.model = 'e1000e';
      return fresh;
    });
    expect((await store.get(doc.id)).nics[0]?.model).toBe('e1000e');
  });

  it('keeps unknown fields of the stored JSON, top-level and nested, and writes only what changed', async () => {
    const doc = await store.create(newDoc('web', { nics: [{ mac: '52:54:00:00:00:01', model: 'virtio' }, { mac: '52:54:00:00:00:02', model: 'virtio' }] }));
    const file = store.fileOf(doc.id);
    const raw = await readJson(file);
    raw.futureFeature = { enabled: true };
    (raw.nics as Record<string, unknown>[])[1]!.futureNicField = 'keep-me';
    delete raw.memoryMiB; // a default the parser fills in must not be written back by an unrelated edit
    await writeFile(file, JSON.stringify(raw));

    await store.update(doc.id, (fresh) => ({ description: 'hello', nics: [fresh.nics[1]!] }));
    const after = await readJson(file);
    expect(after.futureFeature).toEqual({ enabled: true });
    expect(after.nics).toEqual([{ mac: '52:54:00:00:00:02', model: 'virtio', futureNicField: 'keep-me' }]);
    expect(after.description).toBe('hello');
    expect('memoryMiB' in after).toBe(false);
    expect((await store.get(doc.id)).memoryMiB).toBe(512);

    await store.update(doc.id, () => ({ description: undefined }));
    const removed = await readJson(file);
    expect('description' in removed).toBe(false);
    expect(removed.futureFeature).toEqual({ enabled: true });
  });

  it('does not write when nothing changed', async () => {
    const doc = await store.create(newDoc('web'));
    const before = await stat(store.fileOf(doc.id));
    const result = await store.update(doc.id, (fresh) => ({ counter: fresh.counter }));
    expect(result).toEqual(doc);
    expect((await stat(store.fileOf(doc.id))).ino).toBe(before.ino);
  });

  it('refuses to change the id and refuses invalid results without writing', async () => {
    const doc = await store.create(newDoc('web'));
    await expectEngineError(store.update(doc.id, () => ({ id: crypto.randomUUID() })), 'invalid-argument', /id/);
    await expectEngineError(store.update(doc.id, () => ({ memoryMiB: -1 })), 'invalid-argument', /memoryMiB/);
    expect(await store.get(doc.id)).toEqual(doc);
  });

  it('renames, refusing a name another document has', async () => {
    const web = await store.create(newDoc('web'));
    await store.create(newDoc('db'));
    expect((await store.rename(web.id, 'frontend')).name).toBe('frontend');
    await expectEngineError(store.rename(web.id, 'db'), 'already-exists', /"db" already exists/);
    expect((await store.get(web.id)).name).toBe('frontend');
  });

  it('lets an error thrown by the mutator through and leaves the file alone', async () => {
    const doc = await store.create(newDoc('web'));
    await expect(store.update(doc.id, () => {
      throw new EngineError('conflict', 'nope');
    })).rejects.toThrow('nope');
    expect(await store.get(doc.id)).toEqual(doc);
  });
});

describe('uniqueness checks', () => {
  it('refuses a duplicate name on create', async () => {
    await store.create(newDoc('web'));
    const error = await expectEngineError(store.create(newDoc('web')), 'already-exists', /"web" already exists/);
    expect(error.hint).toMatch(/another name/);
    expect((await store.list()).items).toHaveLength(1);
  });

  it('runs the store check (MACs here) on create and update, against the other documents only', async () => {
    const a = await store.create(newDoc('a', { nics: [{ mac: '52:54:00:00:00:01', model: 'virtio' }] }));
    await expectEngineError(store.create(newDoc('b', { nics: [{ mac: '52:54:00:00:00:01', model: 'virtio' }] })), 'already-exists', /MAC/);
    const b = await store.create(newDoc('b', { nics: [{ mac: '52:54:00:00:00:02', model: 'virtio' }] }));
    await expectEngineError(store.update(b.id, () => ({ nics: [{ mac: '52:54:00:00:00:01', model: 'virtio' }] })), 'already-exists', /MAC/);
    // Its own MAC does not clash with itself.
    await store.update(a.id, () => ({ description: 'same MAC, still fine' }));
  });

  it('runs a per-call check with the candidate and the others', async () => {
    await store.create(newDoc('a'));
    const seen: { candidate: string; others: string[] }[] = [];
    await store.create(newDoc('b'), {
      checkUnique: (candidate, others) => {
        seen.push({ candidate: candidate.name, others: others.map((other) => other.name) });
      },
    });
    expect(seen).toEqual([{ candidate: 'b', others: ['a'] }]);
    await expectEngineError(
      store.create(newDoc('c'), {
        checkUnique: () => {
          throw new EngineError('conflict', 'refused by the caller');
        },
      }),
      'conflict',
    );
    expect(await store.findByName('c')).toBeUndefined();
  });

  it('reports two documents hand-edited to the same name as a conflict on findByName', async () => {
    const a = await store.create(newDoc('a'));
    const b = await store.create(newDoc('b'));
    const raw = await readJson(store.fileOf(b.id));
    await writeFile(store.fileOf(b.id), JSON.stringify({ ...raw, name: 'a' }));
    await expectEngineError(store.findByName('a'), 'conflict', new RegExp(a.id));
  });
});

describe('schema versions', () => {
  it('migrates an older document on read and writes it back only on the next edit', async () => {
    const id = crypto.randomUUID();
    const file = join(temp.root, id, 'vm.json');
    await mkdir(join(temp.root, id), { recursive: true });
    const v1 = { schemaVersion: 1, id, name: 'old', memoryBytes: 1024 * 1024 * 1024, legacyNote: 'unknown to v2' };
    await writeFile(file, JSON.stringify(v1));

    const read = await store.get(id);
    expect(read.memoryMiB).toBe(1024);
    expect((await store.list()).items.map((doc) => doc.name)).toEqual(['old']);
    expect(await readJson(file)).toEqual(v1);

    await store.update(id, () => ({ counter: 1 }));
    const written = await readJson(file);
    expect(written.schemaVersion).toBe(2);
    expect(written.memoryMiB).toBe(1024);
    expect('memoryBytes' in written).toBe(false);
    expect(written.legacyNote).toBe('unknown to v2');
    expect(written.counter).toBe(1);
  });

  it('refuses a document from a newer Virtdesk, on read and on edit, and leaves it untouched', async () => {
    const id = crypto.randomUUID();
    const file = join(temp.root, id, 'vm.json');
    await mkdir(join(temp.root, id), { recursive: true });
    const text = JSON.stringify({ schemaVersion: 3, id, name: 'future', hologram: true });
    await writeFile(file, text);
    await store.create(newDoc('present'));

    const error = await expectEngineError(store.get(id), 'invalid-state', /written by a newer Virtdesk/);
    expect(error.message).toContain(file);
    expect(error.message).toContain('schemaVersion 3');
    expect(error.hint).toMatch(/Update Virtdesk/);
    await expectEngineError(store.update(id, () => ({ counter: 1 })), 'invalid-state', /newer Virtdesk/);
    const listed = await store.list();
    expect(listed.items.map((doc) => doc.name)).toEqual(['present']);
    expect(listed.problems).toEqual([{ file, message: expect.stringMatching(/written by a newer Virtdesk/) }]);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('reports a migration that fails or does not reach the current version', async () => {
    const id = crypto.randomUUID();
    await mkdir(join(temp.root, id), { recursive: true });
    await writeFile(join(temp.root, id, 'vm.json'), JSON.stringify({ schemaVersion: 1, id, name: 'old' }));
    const lazy = openTestStore(temp.root, { migrate: (raw) => raw });
    await expectEngineError(lazy.get(id), 'invalid-state', /migration stopped at 1, not 2/);
    const broken = openTestStore(temp.root, {
      migrate: () => {
        throw new Error('boom');
      },
    });
    await expectEngineError(broken.get(id), 'invalid-state', /could not be migrated from schemaVersion 1 to 2: boom/);
  });
});

describe('corrupt files', () => {
  it('names each bad file and what is wrong with it, and still loads the others', async () => {
    const good = await store.create(newDoc('good'));
    const cases: [string, string, RegExp][] = [
      ['truncated', '{"schemaVersion": 2, "id": "', /is not valid JSON/],
      ['array', '[1, 2]', /does not hold a JSON object/],
      ['no-version', '{"name": "x"}', /has no valid schemaVersion/],
      ['invalid', '{"schemaVersion": 2, "id": "ID", "name": ""}', /is not a valid VM definition: .*name/],
      ['wrong-folder', `{"schemaVersion": 2, "id": "${crypto.randomUUID()}", "name": "moved"}`, /lives in the folder of/],
    ];
    const files = new Map<string, RegExp>();
    for (const [, content, expected] of cases) {
      const id = crypto.randomUUID();
      await mkdir(join(temp.root, id));
      await writeFile(join(temp.root, id, 'vm.json'), content.replace('"ID"', JSON.stringify(id)));
      files.set(join(temp.root, id, 'vm.json'), expected);
    }
    const listed = await store.list();
    expect(listed.items.map((doc) => doc.id)).toEqual([good.id]);
    expect(listed.problems).toHaveLength(cases.length);
    for (const problem of listed.problems) {
      const expected = files.get(problem.file);
      expect(expected, problem.file).toBeDefined();
      expect(problem.message).toMatch(expected!);
      expect(problem.message.startsWith(problem.file)).toBe(true);
    }
  });

  it('reports an unreadable file without failing the list', async () => {
    // Permissions do not stop root, so make the document path unreadable as a file instead.
    const good = await store.create(newDoc('good'));
    const id = crypto.randomUUID();
    await mkdir(join(temp.root, id, 'vm.json'), { recursive: true });
    const listed = await store.list();
    expect(listed.items).toEqual([good]);
    expect(listed.problems).toEqual([{ file: join(temp.root, id, 'vm.json'), message: expect.stringMatching(/cannot be read: .*EISDIR/) }]);
  });

  it('can still delete a corrupt document', async () => {
    const id = crypto.randomUUID();
    await mkdir(join(temp.root, id), { recursive: true });
    await writeFile(join(temp.root, id, 'vm.json'), 'garbage');
    await store.delete(id);
    expect(await store.list()).toEqual({ items: [], problems: [] });
  });

  it('ignores folders without a document, non-id entries and temp files', async () => {
    const doc = await store.create(newDoc('real'));
    await mkdir(join(temp.root, crypto.randomUUID()));
    await mkdir(join(temp.root, 'not-an-id'));
    await writeFile(join(temp.root, doc.id, `.vm.json.999.abcdef.tmp`), '{"half a write');
    const orphan = crypto.randomUUID();
    await mkdir(join(temp.root, orphan));
    await writeFile(join(temp.root, orphan, `.vm.json.999.abcdef.tmp`), JSON.stringify(newDoc('never-acknowledged', { id: orphan })));
    expect(await store.list()).toEqual({ items: [doc], problems: [] });
    await expectEngineError(store.get(orphan), 'not-found');
  });

  it('removes temp files a killed writer left once it writes that document again', async () => {
    const doc = await store.create(newDoc('real'));
    const temp1 = join(temp.root, doc.id, `.vm.json.999.abcdef.tmp`);
    await writeFile(temp1, '{"half');
    await store.update(doc.id, () => ({ counter: 1 }));
    expect(await readdir(store.folderOf(doc.id))).toEqual(['vm.json']);
  });
});

describe('delete', () => {
  it('removes the whole folder with the files others put there', async () => {
    const doc = await store.create(newDoc('web'));
    await writeFile(join(store.folderOf(doc.id), 'serial.log'), 'boot log');
    await writeFile(join(store.folderOf(doc.id), 'nvram.fd'), 'vars');
    await store.delete(doc.id);
    expect((await readdir(temp.root)).filter((entry) => !entry.startsWith('.'))).toEqual([]);
    expect((await readdir(temp.root)).filter((entry) => entry.startsWith('.deleted-'))).toEqual([]);
    await expectEngineError(store.get(doc.id), 'not-found');
  });

  it('with keepFiles removes only the document', async () => {
    const doc = await store.create(newDoc('web'));
    await writeFile(join(store.folderOf(doc.id), 'serial.log'), 'boot log');
    await store.delete(doc.id, { keepFiles: true });
    expect(await readdir(store.folderOf(doc.id))).toEqual(['serial.log']);
    expect((await store.list()).items).toEqual([]);
    // The name is free again.
    await store.create(newDoc('web'));
  });

  it('never touches files of other documents or unknown files on create and update', async () => {
    const doc = await store.create(newDoc('web'));
    const folder = store.folderOf(doc.id);
    await writeFile(join(folder, 'serial.log'), 'keep');
    await mkdir(join(folder, 'snapshots'));
    await store.update(doc.id, () => ({ counter: 3 }));
    expect((await readdir(folder)).sort()).toEqual(['serial.log', 'snapshots', 'vm.json']);
  });

  it('creates a document in a folder that already holds other files', async () => {
    const doc = newDoc('web');
    await mkdir(join(temp.root, doc.id), { recursive: true });
    await writeFile(join(temp.root, doc.id, 'serial.log'), 'old log');
    await store.create(doc);
    expect((await readdir(join(temp.root, doc.id))).sort()).toEqual(['serial.log', 'vm.json']);
  });
});

describe('concurrency inside one process', () => {
  it('serializes concurrent updates so that none is lost', async () => {
    const doc = await store.create(newDoc('counter'));
    const other = openTestStore(temp.root); // a second store object on the same root shares the lock
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).update(doc.id, (fresh) => ({ counter: fresh.counter + 1 }))));
    expect((await store.get(doc.id)).counter).toBe(20);
  });

  it('lets exactly one of many concurrent creates of a name win', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => store.create(newDoc('same'))));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as EngineError).code).toBe('already-exists');
    }
  });
});
