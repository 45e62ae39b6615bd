import { chmodSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/** `$VIRTDESK_HOME`, else `$XDG_DATA_HOME/virtdesk`, else `~/.local/share/virtdesk`. */
export function virtdeskHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIRTDESK_HOME) return env.VIRTDESK_HOME;
  const dataHome = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(dataHome, 'virtdesk');
}

/** `$XDG_RUNTIME_DIR/virtdesk`, else `<home>/run`. Created 0700 by whoever uses it. */
export function runtimeRoot(home: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIRTDESK_RUNTIME_DIR) return env.VIRTDESK_RUNTIME_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'virtdesk');
  return join(home, 'run');
}

/** `path` with every symlink resolved; a path not created yet resolves through its nearest existing parent. */
function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPathOf(parent), basename(path));
  }
}

/**
 * Makes `env` name the home (and a VIRTDESK_RUNTIME_DIR) by its real path, once when a host or the
 * CLI starts: runtime paths are compared as text (QEMU's command line names its runtime folder), so
 * two spellings of one folder through a symlink would otherwise see each other's VMs as stopped.
 */
export function resolveHomeSpelling(env: NodeJS.ProcessEnv = process.env): string {
  env.VIRTDESK_HOME = realPathOf(resolve(virtdeskHome(env)));
  if (env.VIRTDESK_RUNTIME_DIR) env.VIRTDESK_RUNTIME_DIR = realPathOf(resolve(env.VIRTDESK_RUNTIME_DIR));
  return env.VIRTDESK_HOME;
}

/**
 * What every host and the CLI do first: name the home by its real path (above) and keep what
 * Virtdesk makes private to the user, as libvirt's session mode does: a umask of 077 for this
 * process and its children (QEMU's serial.log, saved states, qemu-img's images, pools), and an
 * existing home of ours closed to others (0700).
 */
export function prepareHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = resolveHomeSpelling(env);
  process.umask(0o077);
  try {
    const info = statSync(home);
    if (info.isDirectory() && info.uid === process.getuid?.() && (info.mode & 0o077) !== 0) chmodSync(home, 0o700);
  } catch {
    // Not created yet: it will be, under the umask.
  }
  return home;
}
