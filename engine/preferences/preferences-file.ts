import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../api/errors';
import { preferencesSchema, type Preferences } from '../api/preferences-api';
import { withFileLock, writeFileAtomic } from '../store';

/** `<home>/preferences.json`. */
export function preferencesFile(home: string): string {
  return join(home, 'preferences.json');
}

/** The preferences, and the file's raw object (with fields this version does not know). */
export async function readPreferences(home: string): Promise<{ preferences: Preferences; raw: Record<string, unknown> }> {
  const file = preferencesFile(home);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { preferences: preferencesSchema.parse({}), raw: {} };
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new EngineError('invalid-state', `${file} is not valid JSON.`, { hint: 'Fix or delete the file; deleting it restores the default preferences.' });
  }
  const parsed = preferencesSchema.safeParse(raw);
  if (!parsed.success) {
    throw new EngineError('invalid-state', `${file} holds invalid preferences: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      hint: 'Fix or delete the file; deleting it restores the default preferences.',
    });
  }
  return { preferences: parsed.data, raw: raw as Record<string, unknown> };
}

/**
 * Read-modify-write of the preferences under the file's lock: `change` gets fresh preferences and
 * returns the fields to change. Fields this version does not know (a newer Virtdesk's) are kept.
 */
export function updatePreferences(home: string, change: (current: Preferences) => Partial<Preferences>): Promise<Preferences> {
  const file = preferencesFile(home);
  return withFileLock(`${file}.lock`, async () => {
    const { preferences, raw } = await readPreferences(home);
    const next = preferencesSchema.parse({ ...raw, ...change(preferences) });
    await writeFileAtomic(file, `${JSON.stringify({ ...raw, ...next }, null, 2)}\n`);
    return next;
  });
}
