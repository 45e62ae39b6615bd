import { mkdir, readFile } from 'node:fs/promises';
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
export async function updatePreferences(home: string, change: (current: Preferences) => Partial<Preferences>): Promise<Preferences> {
  let next = preferencesSchema.parse({});
  await rewritePreferences(home, (raw, preferences) => {
    next = preferencesSchema.parse({ ...raw, ...change(preferences) });
    return { ...raw, ...next };
  });
  return next;
}

/**
 * The same read-modify-write for a field kept outside the schema, which `preferences.set` can
 * therefore never change (the allowed folders: a browser session must not widen its own reach).
 */
export function updateRawPreferences(home: string, change: (raw: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  return rewritePreferences(home, (raw) => change(raw));
}

async function rewritePreferences(home: string, change: (raw: Record<string, unknown>, preferences: Preferences) => Record<string, unknown>): Promise<void> {
  const file = preferencesFile(home);
  // The first command of a new home (`folder allow`, `conn add`) may write here before anything else made it.
  await mkdir(home, { recursive: true, mode: 0o700 });
  await withFileLock(`${file}.lock`, async () => {
    const { preferences, raw } = await readPreferences(home);
    await writeFileAtomic(file, `${JSON.stringify(change(raw, preferences), null, 2)}\n`);
  });
}
