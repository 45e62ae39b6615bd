/// <reference types="vite/client" />
import type { Component } from 'svelte';

/**
 * The console engineer's `ConsoleView`, when it exists: a glob import resolves at build time to
 * the file or to nothing, so the details page builds either way.
 */
const modules = import.meta.glob<{ default: Component<{ vmId: string }> }>('../../console/ConsoleView.svelte');

export async function loadConsoleView(): Promise<Component<{ vmId: string }> | undefined> {
  const load = Object.values(modules)[0];
  return load ? (await load()).default : undefined;
}
