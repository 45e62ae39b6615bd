import { constants, type Stats } from 'node:fs';
import { access, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Read-only access to the host's /sys, /proc, /dev, /etc and /usr files, rooted at a folder so
 * tests can point it at a fake tree. Paths are given as absolute host paths (`/proc/meminfo`).
 */
export interface HostFacts {
  readonly root: string;
  /** File contents, or undefined when it does not exist or cannot be read. */
  readText(path: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
  /** Whether this process may open the path read-write (`/dev/kvm`). */
  readWriteAccess(path: string): Promise<'ok' | 'missing' | 'denied'>;
  stat(path: string): Promise<Stats | undefined>;
  /** Entry names, or undefined when the folder does not exist. */
  list(path: string): Promise<string[] | undefined>;
}

/** Facts about the real host (`root` = `/`), or about a fake tree under `root`. */
export function hostFacts(root = '/'): HostFacts {
  const at = (path: string) => join(root, path);
  return {
    root,
    async readText(path) {
      try {
        return await readFile(at(path), 'utf8');
      } catch {
        return undefined;
      }
    },
    async exists(path) {
      try {
        await stat(at(path));
        return true;
      } catch {
        return false;
      }
    },
    async readWriteAccess(path) {
      try {
        await access(at(path), constants.R_OK | constants.W_OK);
        return 'ok';
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'denied';
      }
    },
    async stat(path) {
      try {
        return await stat(at(path));
      } catch {
        return undefined;
      }
    },
    async list(path) {
      try {
        return (await readdir(at(path))).sort();
      } catch {
        return undefined;
      }
    },
  };
}

/** The CPU flags of the first processor in /proc/cpuinfo. */
export function cpuFlags(cpuinfo: string | undefined): Set<string> {
  const line = cpuinfo?.split('\n').find((l) => /^flags\s*:/.test(l));
  return new Set(line ? line.replace(/^flags\s*:\s*/, '').split(/\s+/).filter(Boolean) : []);
}
