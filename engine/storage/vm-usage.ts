import { openVmStore } from '../vm/vm-store';
import { findRunningQemu } from '../vm/pidfile';
import { vmRuntimePaths } from '../vm/runtime-dir';
import { canonicalPath, type UsageResolver, type VolumeUser } from './usage';

/**
 * Which VMs use a file, from the VM definitions on disk; "running" means QEMU is alive (pidfile
 * checked against /proc, no QMP round trip). Backing files of linked clones are guarded by storage itself.
 */
export function vmUsageResolver(home: string, env: NodeJS.ProcessEnv = process.env): UsageResolver {
  const store = openVmStore(home);
  return async (path) => {
    const target = await canonicalPath(path);
    const { items } = await store.list();
    const users: VolumeUser[] = [];
    for (const def of items) {
      const uses: boolean[] = [];
      for (const disk of def.disks) if ((await canonicalPath(disk.source)) === target) uses.push(disk.readOnly);
      for (const cdrom of def.cdroms) if (cdrom.media !== null && (await canonicalPath(cdrom.media)) === target) uses.push(true);
      if (uses.length === 0) continue;
      const running = (await findRunningQemu(vmRuntimePaths(home, def.id, env))) !== undefined;
      users.push({ vmId: def.id, vmName: def.name, readOnly: uses.every(Boolean), running });
    }
    return users;
  };
}
