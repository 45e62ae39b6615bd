import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { combineErrors, EngineError } from '../../model/errors';
import type { VmDefinition } from '../../model';

interface FileUse {
  path: string;
  /** Words for the message: `disk disk0`, `the kernel`. */
  what: string;
  field: string;
  writable: boolean;
}

/** Every host file a definition makes QEMU open. */
export function filesOf(def: VmDefinition): FileUse[] {
  const uses: FileUse[] = [];
  def.disks.forEach((disk, index) => uses.push({ path: disk.source, what: `disk ${disk.id}`, field: `disks[${index}].source`, writable: !disk.readOnly }));
  def.cdroms.forEach((cdrom, index) => {
    if (cdrom.media !== null) uses.push({ path: cdrom.media, what: `the ISO in CD-ROM ${cdrom.id}`, field: `cdroms[${index}].media`, writable: false });
  });
  if (def.directKernel) {
    uses.push({ path: def.directKernel.kernel, what: 'the kernel', field: 'directKernel.kernel', writable: false });
    if (def.directKernel.initrd !== null) uses.push({ path: def.directKernel.initrd, what: 'the initrd', field: 'directKernel.initrd', writable: false });
  }
  return uses;
}

async function problemWith(use: FileUse): Promise<EngineError | undefined> {
  let info;
  try {
    info = await stat(use.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return new EngineError('not-found', `${capitalize(use.what)} ${use.path} does not exist.`, {
        hint: 'Check the path, or create the file first.',
        field: use.field, details: { path: use.path },
      });
    }
    return new EngineError('permission-denied', `${capitalize(use.what)} ${use.path} cannot be read: ${(error as Error).message}.`, {
      field: use.field, details: { path: use.path },
    });
  }
  if (info.isDirectory()) {
    return new EngineError('invalid-argument', `${capitalize(use.what)} ${use.path} is a folder, not a file.`, { field: use.field, details: { path: use.path } });
  }
  try {
    await access(use.path, use.writable ? constants.R_OK | constants.W_OK : constants.R_OK);
  } catch {
    return new EngineError('permission-denied', `${capitalize(use.what)} ${use.path} is not ${use.writable ? 'readable and writable' : 'readable'} by you.`, {
      hint: use.writable ? 'Fix its permissions, or attach it read-only.' : 'Fix its permissions.',
      field: use.field, details: { path: use.path },
    });
  }
  return undefined;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Refuses a definition whose disks, ISOs, kernel or initrd are missing or unreadable, naming each. */
export async function assertFilesUsable(def: VmDefinition): Promise<void> {
  const problems = (await Promise.all(filesOf(def).map(problemWith))).filter((p): p is EngineError => p !== undefined);
  const error = combineErrors(problems, problems[0] ? { code: problems[0].code } : {});
  if (error) throw error;
}
