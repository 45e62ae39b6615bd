import { homedir } from 'node:os';
import { join } from 'node:path';

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
