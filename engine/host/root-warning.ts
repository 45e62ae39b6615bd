import type { HostInfo } from '../api/host-api';

/**
 * What a host running as root gives every browser session, said plainly: serve prints it at
 * start and the UI shows it as a banner (host.info's `rootWarning`). Null when not root, and for
 * the desktop app, whose renderer is the local user's own window.
 */
export function rootSessionWarning(hostKind: HostInfo['hostKind'], euid: number = process.geteuid?.() ?? -1): string | null {
  if (hostKind !== 'serve' || euid !== 0) return null;
  return (
    'virtdesk serve runs as root, so every signed-in browser session acts as root on this machine: ' +
    'its VMs run as root and can be given any disk image, ISO or kernel in the allowed folders (the pools, the ISO library, ' +
    "root's home folder and the folders allowed on purpose), and it creates networks, bridges and firewall rules without being asked for a password. " +
    'Run serve as an ordinary user in the kvm group unless the machine is yours alone.'
  );
}
