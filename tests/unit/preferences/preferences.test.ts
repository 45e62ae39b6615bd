import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../../engine/api/events';
import { createPreferencesService } from '../../../engine/preferences/preferences-service';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'virtdesk-prefs-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const context = { signal: new AbortController().signal, peer: { connectionId: 'test' } };

describe('preferences', () => {
  it('gives the defaults when nothing was saved', async () => {
    const service = createPreferencesService({ home, bus: createEventBus() });
    expect(await service.get({}, context)).toMatchObject({ onQuit: 'keep-running', consoleScaling: 'fit', statsIntervalMs: 2000 });
  });

  it('changes only the fields given, keeps unknown fields and announces the change', async () => {
    const bus = createEventBus<Record<string, unknown>>();
    const seen: unknown[] = [];
    bus.on('preferences.changed', (data) => seen.push(data));
    await writeFile(join(home, 'preferences.json'), JSON.stringify({ fromTheFuture: 1, consoleScaling: 'actual' }));
    const service = createPreferencesService({ home, bus });
    const next = await service.set({ changes: { onQuit: 'save' } }, context);
    expect(next).toMatchObject({ onQuit: 'save', consoleScaling: 'actual' });
    expect(JSON.parse(await readFile(join(home, 'preferences.json'), 'utf8'))).toMatchObject({ fromTheFuture: 1, onQuit: 'save' });
    expect(seen).toHaveLength(1);
  });

  it('names the file and the way out when it is corrupt', async () => {
    await writeFile(join(home, 'preferences.json'), '{oops');
    const service = createPreferencesService({ home, bus: createEventBus() });
    await expect(service.get({}, context)).rejects.toMatchObject({ code: 'invalid-state', hint: expect.stringContaining('delete') });
  });
});
