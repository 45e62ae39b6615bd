import type { ImplementationOf } from '../api/contract';
import type { EventBus } from '../api/events';
import type { VirtdeskContract } from '../api/virtdesk-api';
import { readPreferences, updatePreferences } from './preferences-file';

/** `<home>/preferences.json`: read fresh on every call, so the CLI and the app never disagree. */
export function createPreferencesService(options: { home: string; bus: EventBus<Record<string, unknown>> }): ImplementationOf<VirtdeskContract>['preferences'] {
  return {
    get: async () => (await readPreferences(options.home)).preferences,
    set: async ({ changes }) => {
      const next = await updatePreferences(options.home, () => changes);
      options.bus.emit('preferences.changed', next);
      return next;
    },
  };
}
