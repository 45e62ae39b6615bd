import { stat } from 'node:fs/promises';
import { EngineError } from '../api/errors';
import { evaluateBridgeAcl } from './bridge-acl';
import type { CommandRunner } from './command-runner';
import { validateInterfaceName } from '../model/net/interface-names';

export const BRIDGE_HELPER_PATH = '/usr/lib/qemu/qemu-bridge-helper';
export const BRIDGE_CONF_PATH = '/etc/qemu/bridge.conf';

export interface BridgeAccessOptions {
  runner: CommandRunner;
  helperPath?: string;
  confPath?: string;
  euid?: number;
  readText?: (path: string) => Promise<string>;
}

/**
 * Checks everything QEMU needs to put a NIC on an existing host bridge through
 * qemu-bridge-helper, and says exactly what to change when something is missing: the bridge
 * exists and is a bridge, the helper is installed (set-uid root unless we are root), and
 * bridge.conf allows the bridge. Returns the helper path for `-netdev bridge,helper=`.
 */
export async function checkBridgeAccess(bridge: string, options: BridgeAccessOptions): Promise<{ helper: string }> {
  validateInterfaceName(bridge, 'bridge name');
  const helper = options.helperPath ?? BRIDGE_HELPER_PATH;
  const conf = options.confPath ?? BRIDGE_CONF_PATH;
  const euid = options.euid ?? process.geteuid?.() ?? 0;

  const link = await options.runner.run('ip', ['-j', '-d', 'link', 'show', 'dev', bridge]);
  const info = link.code === 0 ? (JSON.parse(link.stdout || '[]') as { linkinfo?: { info_kind?: string } }[])[0] : undefined;
  if (!info) {
    throw new EngineError('not-found', `Host bridge ${bridge} does not exist`, {
      hint: `Create it first (virtdesk net host-bridge create ${bridge} --interface IFACE, or your distribution's network tools), or pick a virtual network with --net network:NAME.`,
    });
  }
  if (info.linkinfo?.info_kind !== 'bridge') {
    throw new EngineError('invalid-argument', `Interface ${bridge} is not a bridge (it is ${info.linkinfo?.info_kind ?? 'a plain interface'})`, {
      hint: 'Name a Linux bridge such as br0.',
    });
  }

  const helperStat = await stat(helper).catch(() => undefined);
  if (!helperStat) {
    throw new EngineError('unavailable', `qemu-bridge-helper is not installed at ${helper}`, {
      hint: 'Install it with: apt-get install qemu-system-common',
    });
  }
  const setuidRoot = helperStat.uid === 0 && (helperStat.mode & 0o4000) !== 0;
  if (euid !== 0 && !setuidRoot) {
    throw new EngineError('permission-denied', `${helper} is not set-uid root, so it cannot add a tap to ${bridge} for an unprivileged user`, {
      hint: `Make it set-uid (kept across upgrades): sudo dpkg-statoverride --update --add root root 4755 ${helper}`,
      details: { helper, mode: (helperStat.mode & 0o7777).toString(8) },
    });
  }

  const verdict = await evaluateBridgeAcl(bridge, conf, options.readText);
  if (verdict.errors.length > 0) {
    const missing = verdict.files.length === 0;
    throw new EngineError('permission-denied', `qemu-bridge-helper cannot use ${conf}: ${verdict.errors.join('; ')}`, {
      hint: missing
        ? `Create it (readable by your user) with the line: allow ${bridge}   e.g. sudo mkdir -p /etc/qemu && echo 'allow ${bridge}' | sudo tee -a ${conf}`
        : `Fix the file so every line is "allow NAME", "deny NAME" or "include FILE", and add: allow ${bridge}`,
      details: { conf, errors: verdict.errors },
    });
  }
  if (!verdict.allowed) {
    throw new EngineError('permission-denied', `${conf} does not allow bridge ${bridge}${verdict.reason ? ` (${verdict.reason})` : ''}`, {
      hint: verdict.reason?.startsWith('deny')
        ? `Remove the "${verdict.reason.split(' (')[0]}" line, and make sure ${conf} contains the line: allow ${bridge}`
        : `Add this line to ${conf}: allow ${bridge}   e.g. echo 'allow ${bridge}' | sudo tee -a ${conf}`,
      details: { conf, files: verdict.files },
    });
  }
  return { helper };
}
