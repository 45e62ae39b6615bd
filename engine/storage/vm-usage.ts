import { VmRegistry } from '../vm/definitions/registry';
import type { UsageResolver } from './usage';

/**
 * Which VMs use a file, from the VM definitions under `home` ("running" = QEMU alive). The VM
 * registry owns that knowledge; this is the one place storage reaches for it.
 */
export function vmUsageResolver(home: string, env: NodeJS.ProcessEnv = process.env): UsageResolver {
  return new VmRegistry(home, env).usageResolver();
}
