import { mkdtemp, readdir, rm, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProcessesWithArg, readCmdline, waitForExit } from '../../engine/vm/runtime/pidfile';

/** Live QEMU (or any) processes whose command line mentions `dir` (a VIRTDESK_HOME or runtime folder). */
export async function findProcessesUnder(dir: string): Promise<number[]> {
  return findProcessesWithArg(dir);
}

/** SIGKILLs every process whose command line mentions `dir` and waits for them to go. */
export async function killProcessesUnder(dir: string): Promise<number[]> {
  const pids = await findProcessesUnder(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await Promise.all(pids.map((pid) => waitForExit(pid, 5000)));
  return pids;
}

/** Throws when a process mentioning `dir` is still alive, after killing it so the next test starts clean. */
export async function assertNoLeakedProcesses(dir: string): Promise<void> {
  const pids = await findProcessesUnder(dir);
  if (pids.length === 0) return;
  const lines = await Promise.all(pids.map(async (pid) => `  ${pid}: ${((await readCmdline(pid)) ?? []).join(' ').slice(0, 300)}`));
  await killProcessesUnder(dir);
  throw new Error(`Leaked processes under ${dir}:\n${lines.join('\n')}`);
}

/** Every unix socket below `dir`. */
export async function findSockets(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isSocket()) found.push(path);
    }
  };
  if ((await lstat(dir).catch(() => undefined))?.isDirectory()) await walk(dir);
  return found.sort();
}

export async function assertNoLeftoverSockets(dir: string): Promise<void> {
  const sockets = await findSockets(dir);
  if (sockets.length > 0) throw new Error(`Leftover sockets under ${dir}:\n  ${sockets.join('\n  ')}`);
}

export interface TempHome {
  home: string;
  /** An env with VIRTDESK_HOME set to `home` and no XDG/VIRTDESK runtime override. */
  env: NodeJS.ProcessEnv;
  /** Kills leftover processes, then fails if there were any; removes the folder. */
  cleanup(options?: { allowLeaks?: boolean }): Promise<void>;
}

/** A fresh VIRTDESK_HOME under the temp dir; runtime folders land in `<home>/run`. */
export async function createTempHome(prefix = 'virtdesk-test-'): Promise<TempHome> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = { ...process.env, VIRTDESK_HOME: home };
  delete env.XDG_RUNTIME_DIR;
  delete env.VIRTDESK_RUNTIME_DIR;
  return {
    home,
    env,
    async cleanup(options = {}) {
      try {
        if (options.allowLeaks) await killProcessesUnder(home);
        else await assertNoLeakedProcesses(home);
      } finally {
        // A background cache write that outlives close() (a host probe) can refill a folder while
        // rm empties it (ENOTEMPTY); rm retries that case itself.
        await rm(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      }
    },
  };
}
