import { join } from 'node:path';
import { runtimeRoot } from '../../paths';

/**
 * Where the helper keeps network state when it runs through pkexec: a fixed root-owned
 * folder, never a path the caller chose (the caller is not trusted with root's writes).
 */
export const SYSTEM_NETWORK_STATE_ROOT = '/run/virtdesk/networks';

export interface NetworkStatePaths {
  dir: string;
  configFile: string;
  pidFile: string;
  leaseFile: string;
  logFile: string;
}

/** `networkName` must be validated first: it becomes a path component. */
export function networkStatePaths(stateRoot: string, networkName: string): NetworkStatePaths {
  const dir = join(stateRoot, networkName);
  return {
    dir,
    configFile: join(dir, 'dnsmasq.conf'),
    pidFile: join(dir, 'dnsmasq.pid'),
    leaseFile: join(dir, 'dnsmasq.leases'),
    logFile: join(dir, 'dnsmasq.log'),
  };
}

/**
 * The state root the engine should read: its own runtime folder when it runs as root (the
 * helper's code runs in-process then), the system folder when the pkexec'd helper owns it.
 */
export function networkStateRoot(home: string, env: NodeJS.ProcessEnv = process.env, euid = process.geteuid?.() ?? 0): string {
  return euid === 0 ? join(runtimeRoot(home, env), 'networks') : SYSTEM_NETWORK_STATE_ROOT;
}
