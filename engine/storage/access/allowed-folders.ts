import { realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { PeerInfo } from '../../api/contract';
import { EngineError } from '../../api/errors';
import type { HostPathField } from '../../model/host-paths';
import { readPreferences, updateRawPreferences } from '../../preferences/preferences-file';
import { IsoLibrary } from '../iso/iso-library';
import { PoolRegistry } from '../pools/pool-registry';
import { systemFolderProblem } from './system-folders';

/**
 * The folders a limited session (a browser under `virtdesk serve`, the desktop app's renderer)
 * may name host files in: every storage pool, the ISO library (its folder and each ISO in it),
 * the user's home folder (but not its hidden folders: ~/.ssh, ~/.config, …), and folders the
 * user added on purpose (`allowedFolders` in preferences.json; `virtdesk folder allow`). The
 * local CLI is the user acting directly and is not limited; nor is a path the desktop app's own
 * file dialog returns, which the app adds here with `add`. This is the one place that decides:
 * the storage and VM services ask it, and a file browser lists and resolves through it.
 */

export type AllowedFolderSource = 'pool' | 'iso-library' | 'home' | 'added';

export interface AllowedFolder {
  /** Absolute, symlinks resolved. */
  path: string;
  source: AllowedFolderSource;
  /** What the folder is to the user: the pool's name, "ISO library", "home folder", or the path. */
  label: string;
  /** Only folders added on purpose can be removed from the list (pools go with `pool remove`). */
  removable: boolean;
}

export interface AllowedFoldersOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
}

const PREFERENCE = 'allowedFolders';

/** Limited callers: a browser session, and the desktop app's renderer (whose file dialog is handled by `add`). */
export function isLimitedPeer(peer: PeerInfo | undefined): boolean {
  return peer?.kind === 'browser' || peer?.kind === 'app';
}

const isInside = (path: string, folder: string) => path === folder || path.startsWith(folder.endsWith(sep) ? folder : `${folder}${sep}`);

/** The path with every symlink resolved, also for a file that does not exist yet (through its nearest existing folder). */
export async function realPathOf(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    return join(await realPathOf(parent), basename(absolute));
  }
}

export class AllowedFolders {
  private readonly pools: PoolRegistry;
  private readonly isos: IsoLibrary;

  constructor(private readonly options: AllowedFoldersOptions) {
    this.pools = new PoolRegistry(options.home);
    this.isos = new IsoLibrary({ home: options.home });
  }

  /** The user's home folder (`$HOME`, else the password database's). */
  homeFolder(): string {
    return this.options.env?.HOME || homedir();
  }

  /** Every allowed folder, each resolved through symlinks (one that does not exist yet, like an unused ISO library, is listed as it will be). */
  async list(): Promise<AllowedFolder[]> {
    const folders: AllowedFolder[] = [];
    const push = async (path: string, source: AllowedFolderSource, label: string) => {
      const real = await realPathOf(path);
      if (!folders.some((f) => f.path === real && f.source === source)) folders.push({ path: real, source, label, removable: source === 'added' });
    };
    for (const pool of (await this.pools.list()).pools) await push(pool.path, 'pool', `pool ${pool.name}`);
    await push(this.isos.folder, 'iso-library', 'ISO library');
    await push(this.homeFolder(), 'home', 'home folder');
    for (const path of await this.added()) await push(path, 'added', path);
    return folders;
  }

  /** Adds a folder on purpose (the CLI, the app's preferences, the app's file dialog). System folders are refused. */
  async add(folder: string): Promise<AllowedFolder> {
    if (!isAbsolute(folder)) throw new EngineError('invalid-argument', `Give the folder as an absolute path, not "${folder}".`);
    const real = await realpath(folder).catch(() => undefined);
    if (real === undefined || !(await stat(real)).isDirectory()) {
      throw new EngineError('not-found', `${folder} is not an existing folder.`, { hint: 'Create it first, or check the spelling.' });
    }
    const problem = systemFolderProblem(real);
    if (problem !== undefined) {
      throw new EngineError('invalid-argument', `${folder} cannot be allowed: ${problem}, and a browser session must not reach it.`, {
        hint: 'Allow the folder that holds your images or ISOs, not a system folder.',
      });
    }
    await this.updateAdded((paths) => (paths.includes(real) ? paths : [...paths, real]));
    return { path: real, source: 'added', label: real, removable: true };
  }

  /** Removes a folder added on purpose; false when it was not in the list. */
  async remove(folder: string): Promise<boolean> {
    const real = await realPathOf(folder);
    let removed = false;
    await this.updateAdded((paths) => {
      const kept = paths.filter((p) => p !== real && p !== folder);
      removed = kept.length !== paths.length;
      return kept;
    });
    return removed;
  }

  /**
   * The real path of `path` when a limited session may name it; otherwise permission-denied,
   * saying which folders are allowed and how to add one. `what` names the field ("disk source").
   */
  async resolve(path: string, what: string): Promise<string> {
    if (!isAbsolute(path)) throw new EngineError('invalid-argument', `The ${what} must be an absolute path, not "${path}".`);
    const real = await realPathOf(path);
    const folders = await this.list();
    if (folders.some((folder) => this.covers(folder, real))) return real;
    if ((await this.isos.list()).isos.some((iso) => iso.path === real)) return real;
    const shown = folders.map((f) => (f.source === 'home' ? `${f.path} (not its hidden folders)` : f.path)).join(', ');
    throw new EngineError('permission-denied', `The ${what} ${path}${real !== resolve(path) ? ` (really ${real})` : ''} is outside the folders this session may use.`, {
      hint: `Allowed: ${shown}. Move the file into a pool or the ISO library, or allow its folder on the host with \`virtdesk folder allow FOLDER\`.`,
      details: { path, realPath: real, allowed: folders.map((f) => f.path) },
    });
  }

  async isAllowed(path: string): Promise<boolean> {
    return this.resolve(path, 'path').then(() => true, () => false);
  }

  /** Checks the paths a limited peer names; other callers (the CLI, the engine itself) pass. */
  async assertPeerMayUse(peer: PeerInfo | undefined, paths: readonly HostPathField[]): Promise<void> {
    if (!isLimitedPeer(peer)) return;
    for (const { field, path } of paths) await this.resolve(path, field);
  }

  private covers(folder: AllowedFolder, real: string): boolean {
    if (!isInside(real, folder.path)) return false;
    if (folder.source !== 'home') return true;
    // The home folder, but not ~/.ssh, ~/.gnupg, ~/.config…: keys and settings, never disk images.
    const first = relative(folder.path, real).split(sep)[0] ?? '';
    return !first.startsWith('.');
  }

  private async added(): Promise<string[]> {
    return addedFoldersOf((await readPreferences(this.options.home)).raw);
  }

  /** Read-modify-write under the preferences lock; every other field of the file is kept. */
  private updateAdded(change: (paths: string[]) => string[]): Promise<void> {
    return updateRawPreferences(this.options.home, (raw) => ({ ...raw, [PREFERENCE]: change(addedFoldersOf(raw)) }));
  }
}

function addedFoldersOf(raw: Record<string, unknown>): string[] {
  const value = raw[PREFERENCE];
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string' && isAbsolute(p)) : [];
}
