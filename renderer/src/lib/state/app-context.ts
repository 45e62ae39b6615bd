import { getContext, setContext } from 'svelte';
import type { Connection } from './connection.svelte';
import type { Router } from './router.svelte';
import type { Theme } from './theme.svelte';

/** What every page can reach: the host connection, the router and the theme. */
export interface AppContext {
  connection: Connection;
  router: Router;
  theme: Theme;
}

const KEY = Symbol('virtdesk-app');

export function provideApp(context: AppContext): void {
  setContext(KEY, context);
}

export function useApp(): AppContext {
  const context = getContext<AppContext | undefined>(KEY);
  if (!context) throw new Error('useApp() outside the App component');
  return context;
}
