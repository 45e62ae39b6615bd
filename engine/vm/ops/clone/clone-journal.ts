import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../store/atomic-write';
import { isAlive } from '../../runtime/pidfile';
import { removeTagFromImages, type TaggedDisk } from '../snapshots/remove-tag';

/**
 * What a clone under way has made so far, in `<home>/cache/clones/<clone id>.json`: written before
 * the first image is created and removed once the clone's definition is stored. A journal whose
 * process is gone belongs to a clone that was killed: its images are orphans.
 */
interface CloneJournal {
  pid: number;
  name: string;
  /** Images the clone creates; removed if it never got its definition. */
  files: string[];
  /** The source's internal snapshot a live clone copies from, and the images holding it. */
  tag?: { tag: string; disks: TaggedDisk[] };
}

function journalDir(home: string): string {
  return join(home, 'cache', 'clones');
}

export async function writeCloneJournal(home: string, cloneId: string, journal: Omit<CloneJournal, 'pid'>): Promise<void> {
  await mkdir(journalDir(home), { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(journalDir(home), `${cloneId}.json`), `${JSON.stringify({ pid: process.pid, ...journal })}\n`);
}

export async function removeCloneJournal(home: string, cloneId: string): Promise<void> {
  await rm(join(journalDir(home), `${cloneId}.json`), { force: true });
}

/**
 * Removes what killed clones left: their images (when the clone's definition never got stored)
 * and the source's temporary snapshot (in images QEMU does not hold; a running source's is left
 * for its next clone or shutdown). Returns one line per clean-up, for the user.
 */
export async function removeInterruptedClones(home: string, env: NodeJS.ProcessEnv, stored: (id: string) => boolean): Promise<string[]> {
  const entries = await readdir(journalDir(home)).catch(() => [] as string[]);
  const notices: string[] = [];
  for (const entry of entries.filter((name) => name.endsWith('.json'))) {
    const file = join(journalDir(home), entry);
    let journal: CloneJournal;
    try {
      journal = JSON.parse(await readFile(file, 'utf8')) as CloneJournal;
    } catch {
      continue;
    }
    if (journal.pid === process.pid || (await isAlive(journal.pid))) continue;
    const id = entry.slice(0, -'.json'.length);
    if (!stored(id)) {
      await Promise.all(journal.files.map((path) => rm(path, { force: true })));
      notices.push(`A clone to "${journal.name}" was interrupted; its unfinished image${journal.files.length === 1 ? '' : 's'} ${journal.files.join(', ')} ${journal.files.length === 1 ? 'was' : 'were'} removed.`);
    }
    if (journal.tag) await removeTagFromImages(journal.tag.disks, journal.tag.tag, undefined, env).catch(() => undefined);
    await rm(file, { force: true });
  }
  return notices;
}
