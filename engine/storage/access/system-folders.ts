import { sep } from 'node:path';
import { EngineError } from '../../api/errors';

/** Folders that hold the system itself: neither they nor anything inside them may be a pool. */
const SYSTEM_TREES = ['/etc', '/usr', '/boot', '/proc', '/sys', '/dev', '/run', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/var/log', '/var/cache', '/var/spool', '/var/mail', '/var/backups', '/var/run', '/var/lock'];
/** Folders whose sub-folders are fine (one per user, mount, package…) but which are not a pool themselves. */
const SYSTEM_PARENTS = ['/', '/home', '/var', '/var/lib', '/media', '/mnt', '/opt', '/srv', '/tmp', '/var/tmp'];
/** Under /var/lib, each folder belongs to one program; only the VM managers' own are for images. */
const VAR_LIB_FOR_IMAGES = ['/var/lib/libvirt', '/var/lib/virtdesk'];

const inside = (path: string, folder: string) => path === folder || path.startsWith(folder === sep ? sep : `${folder}${sep}`);

/** Why a folder (already resolved with realpath) cannot be a storage pool; undefined when it can. */
export function systemFolderProblem(realFolder: string): string | undefined {
  const tree = SYSTEM_TREES.find((folder) => inside(realFolder, folder));
  if (tree) return tree === realFolder ? `${realFolder} is a system folder` : `${realFolder} is inside the system folder ${tree}`;
  if (SYSTEM_PARENTS.includes(realFolder)) return `${realFolder} is a system folder (a folder inside it can be a pool)`;
  if (inside(realFolder, '/var/lib') && !VAR_LIB_FOR_IMAGES.some((folder) => inside(realFolder, folder))) {
    return `${realFolder} belongs to another program's data in /var/lib`;
  }
  return undefined;
}

/** Refuses a system folder as a pool, for every caller: deleting a volume there would delete system files. */
export function assertNotSystemFolder(realFolder: string, given: string): void {
  const problem = systemFolderProblem(realFolder);
  if (problem === undefined) return;
  throw new EngineError('invalid-argument', `${given === realFolder ? realFolder : `${given} (${realFolder})`} cannot be a storage pool: ${problem}.`, {
    hint: 'Make a folder for disk images (e.g. ~/vm-images or /var/lib/libvirt/images) and add that.',
  });
}
