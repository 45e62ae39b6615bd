import { randomUUID } from 'node:crypto';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import * as z from 'zod';
import { EngineError } from '../../api/errors';
import { createDocumentStore, type DocumentStore } from '../../store';
import { assertNotSystemFolder, systemFolderProblem } from '../access/system-folders';
import { validatePoolName } from './names';

export const DEFAULT_POOL = 'default';

/** A directory pool: a folder whose files are the volumes. */
export interface PoolDefinition {
  id: string;
  name: string;
  /** Absolute path of the folder. */
  path: string;
  /** True for the built-in `<VIRTDESK_HOME>/images` pool, which cannot be removed. */
  builtIn: boolean;
}

interface PoolDocument {
  id: string;
  name: string;
  path: string;
}

const poolDocumentSchema = z.object({ id: z.string(), name: z.string(), path: z.string() });

export const DEFAULT_POOL_ID = '00000000-0000-4000-8000-000000000001';

/** Pool definitions: the built-in default pool plus the folders the user added (persisted in the document store). */
export class PoolRegistry {
  readonly defaultPath: string;
  private readonly store: DocumentStore<PoolDocument>;

  constructor(home: string) {
    this.defaultPath = join(home, 'images');
    this.store = createDocumentStore<PoolDocument>({
      root: join(home, 'storage', 'pools'),
      kind: 'pool',
      label: 'pool',
      fileName: 'pool.json',
      parse: (raw) => poolDocumentSchema.parse(raw),
      migrate: (raw) => raw,
      currentVersion: 1,
      checkUnique: (candidate, others) => {
        const path = resolve(candidate.path);
        const clash = others.find((other) => other.id !== candidate.id && resolve(other.path) === path);
        if (clash) throw new EngineError('already-exists', `The folder ${path} is already the pool "${clash.name}".`);
      },
    });
  }

  private defaultPool(): PoolDefinition {
    return { id: DEFAULT_POOL_ID, name: DEFAULT_POOL, path: this.defaultPath, builtIn: true };
  }

  /** Creates the default pool's folder on first use. */
  async ensureDefault(): Promise<PoolDefinition> {
    await mkdir(this.defaultPath, { recursive: true, mode: 0o700 });
    return this.defaultPool();
  }

  async list(): Promise<{ pools: PoolDefinition[]; problems: string[] }> {
    const { items, problems } = await this.store.list();
    return {
      pools: [this.defaultPool(), ...items.map((doc) => ({ ...doc, builtIn: false }))],
      problems: problems.map((p) => p.message),
    };
  }

  async get(name: string): Promise<PoolDefinition> {
    if (name === DEFAULT_POOL) return this.ensureDefault();
    const doc = await this.store.findByName(name);
    if (!doc) {
      const known = (await this.list()).pools.map((p) => p.name).join(', ');
      throw new EngineError('not-found', `There is no storage pool named "${name}".`, { hint: `Known pools: ${known}. Add a folder with \`virtdesk pool add NAME PATH\`.` });
    }
    // A pool added before system folders were refused is not used, only removable.
    const problem = systemFolderProblem(doc.path);
    if (problem !== undefined) {
      throw new EngineError('invalid-state', `Pool "${name}" cannot be used: ${problem}.`, { hint: `Remove it with \`virtdesk pool remove ${name}\` (its files stay) and add a folder meant for disk images.` });
    }
    return { ...doc, builtIn: false };
  }

  /** Adds an existing folder as a pool. The folder and its files are left as they are. */
  async add(name: string, folder: string): Promise<PoolDefinition> {
    validatePoolName(name);
    if (name === DEFAULT_POOL) throw new EngineError('already-exists', `"${DEFAULT_POOL}" is the built-in pool's name.`);
    if (!isAbsolute(folder)) throw new EngineError('invalid-argument', `The pool folder must be an absolute path, not "${folder}".`);
    let real: string;
    try {
      real = await realpath(folder);
      if (!(await stat(real)).isDirectory()) throw new EngineError('invalid-argument', `${folder} is not a folder.`);
    } catch (error) {
      if (error instanceof EngineError) throw error;
      throw new EngineError('not-found', `The folder ${folder} does not exist or cannot be read.`, { hint: 'Create it first, or check its permissions.' });
    }
    assertNotSystemFolder(real, folder);
    if (real === resolve(this.defaultPath)) throw new EngineError('already-exists', `${folder} is the default pool's folder.`);
    const doc = await this.store.create({ id: randomUUID(), name, path: real });
    return { ...doc, builtIn: false };
  }

  /** Forgets a pool. Its folder and every file in it stay on disk. */
  async remove(name: string): Promise<PoolDefinition> {
    if (name === DEFAULT_POOL) throw new EngineError('invalid-argument', 'The default pool cannot be removed.');
    const doc = await this.store.findByName(name);
    if (!doc) return this.get(name); // not-found, naming the known pools
    const pool = { ...doc, builtIn: false };
    await this.store.delete(pool.id);
    return pool;
  }
}
