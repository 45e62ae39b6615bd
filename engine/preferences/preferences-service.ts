import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImplementationOf } from '../api/contract';
import { EngineError } from '../api/errors';
import type { EventBus } from '../api/events';
import { preferencesSchema, type Preferences } from '../api/preferences-api';
import type { VirtdeskContract } from '../api/virtdesk-api';
import { withFileLock, writeFileAtomic } from '../store';

/** `<home>/preferences.json`: read fresh on every call, so the CLI and the app never disagree. */
export function createPreferencesService(options: { home: string; bus: EventBus<Record<string, unknown>> }): ImplementationOf<VirtdeskContract>['preferences'] {
  const file = join(options.home, 'preferences.json');

  async function read(): Promise<{ preferences: Preferences; raw: Record<string, unknown> }> {
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

  return {
    get: async () => (await read()).preferences,
    set: ({ changes }) =>
      withFileLock(`${file}.lock`, async () => {
        const { raw } = await read();
        // Keep fields this version does not know (written by a newer Virtdesk).
        const next = preferencesSchema.parse({ ...raw, ...changes });
        await writeFileAtomic(file, `${JSON.stringify({ ...raw, ...next }, null, 2)}\n`);
        options.bus.emit('preferences.changed', next);
        return next;
      }),
  };
}
