import { chmod, readFile, rm, stat } from 'node:fs/promises';
import { EngineError } from '../../../api/errors';
import type { VmDefinition } from '../../../model';
import { imageInfo } from '../../../storage/qemu-img/info';
import { canonicalPath } from '../../../storage/usage';
import { writeFileAtomic } from '../../../store';
import { templateMarkFile } from '../../runtime/paths';

/**
 * A template is a VM kept read-only as the base of linked clones: it cannot be started, edited or
 * snapshotted, and its disk images lose their write permission bits. The mark is
 * `vms/<id>/template.json`, which also remembers the images' modes to give back on unmark.
 */
interface TemplateMark {
  markedAt: string;
  /** Permission bits of each writable disk image before it was marked. */
  modes: Record<string, number>;
}

async function readMark(home: string, vmId: string): Promise<TemplateMark | undefined> {
  try {
    return JSON.parse(await readFile(templateMarkFile(home, vmId), 'utf8')) as TemplateMark;
  } catch {
    return undefined;
  }
}

export async function isTemplate(home: string, vmId: string): Promise<boolean> {
  return (await readMark(home, vmId)) !== undefined;
}

export type TemplateBlockedAction = 'start' | 'edit' | 'snapshot' | 'revert to a snapshot of' | 'delete a snapshot of';

/** Throws invalid-state, saying how to go on, when `def` is a template. */
export async function assertNotTemplate(home: string, def: Pick<VmDefinition, 'id' | 'name'>, action: TemplateBlockedAction = 'start'): Promise<void> {
  if (!(await isTemplate(home, def.id))) return;
  throw new EngineError('invalid-state', `Cannot ${action} VM "${def.name}": it is a template, kept read-only as the base of linked clones.`, {
    hint: `Make a clone and use that (\`virtdesk vm clone ${def.name} NEW --linked\`), or unmark it with \`virtdesk vm template ${def.name} --unset\`.`,
    details: { template: true },
  });
}

/** Marks a stopped VM as a template and takes the write bits off its disk images. */
export async function markTemplate(home: string, def: VmDefinition, state: { running: boolean; saved: boolean }): Promise<void> {
  if (await isTemplate(home, def.id)) return;
  if (state.running) {
    throw new EngineError('invalid-state', `Cannot make VM "${def.name}" a template: it is running.`, { hint: `Shut it down first with \`virtdesk vm stop ${def.name}\`.` });
  }
  if (state.saved) {
    throw new EngineError('invalid-state', `Cannot make VM "${def.name}" a template: it has a saved state, which a template could never resume.`, {
      hint: `Restore it and shut it down, or discard the state with \`virtdesk vm restore --discard ${def.name}\`.`,
    });
  }
  const modes: Record<string, number> = {};
  for (const disk of def.disks.filter((d) => !d.readOnly)) {
    const info = await stat(disk.source).catch(() => undefined);
    if (!info) throw new EngineError('not-found', `Cannot make VM "${def.name}" a template: its disk ${disk.id} (${disk.source}) does not exist.`, { hint: 'Fix or detach the disk first.' });
    modes[disk.source] = info.mode & 0o7777;
  }
  await writeFileAtomic(templateMarkFile(home, def.id), `${JSON.stringify({ markedAt: new Date().toISOString(), modes } satisfies TemplateMark, null, 2)}\n`);
  for (const [path, mode] of Object.entries(modes)) await chmod(path, mode & ~0o222);
}

/** Linked clones (by VM) whose images are built on one of `def`'s disk images. */
export async function linkedClonesOf(def: VmDefinition, others: readonly VmDefinition[], env?: NodeJS.ProcessEnv): Promise<{ vm: string; disk: string; base: string }[]> {
  const bases = new Map<string, string>();
  for (const disk of def.disks) bases.set(await canonicalPath(disk.source), disk.source);
  const found: { vm: string; disk: string; base: string }[] = [];
  for (const other of others) {
    if (other.id === def.id) continue;
    for (const disk of other.disks.filter((d) => d.format === 'qcow2')) {
      const chain = await imageInfo(disk.source, env ? { env } : {}).then((info) => info.chain.slice(1), () => []);
      for (const below of chain) {
        const base = bases.get(await canonicalPath(below.path));
        if (base !== undefined) found.push({ vm: other.name, disk: disk.source, base });
      }
    }
  }
  return found;
}

/** Makes a template an ordinary VM again, unless linked clones still read its disks. */
export async function unmarkTemplate(home: string, def: VmDefinition, others: readonly VmDefinition[], env?: NodeJS.ProcessEnv): Promise<void> {
  const mark = await readMark(home, def.id);
  if (!mark) return;
  const clones = await linkedClonesOf(def, others, env);
  if (clones.length > 0) {
    const names = [...new Set(clones.map((clone) => `"${clone.vm}"`))];
    throw new EngineError('conflict', `Cannot unmark template "${def.name}": the linked clone${names.length === 1 ? '' : 's'} ${names.join(', ')} read${names.length === 1 ? 's' : ''} its disks, and changing them would corrupt ${names.length === 1 ? 'it' : 'them'}.`, {
      hint: 'Delete those clones, or make full clones of them first; then unmark it.',
      details: { clones },
    });
  }
  for (const [path, mode] of Object.entries(mark.modes)) {
    await chmod(path, mode).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  await rm(templateMarkFile(home, def.id), { force: true });
}
