import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts', 'tests/golden/**/*.test.ts', 'tests/lint/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        // The renderer's *.svelte.ts state classes, compiled by the Svelte plugin for the browser
        // runtime (runes work without a DOM), each with its *.svelte.spec.ts against a real engine.
        plugins: [svelte()],
        resolve: { conditions: ['browser'] },
        test: {
          name: 'svelte',
          include: ['tests/unit/renderer/**/*.svelte.spec.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          // Real QEMU under TCG is heavy on a 2-core machine: one file at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
          globalSetup: ['tests/integration/global-setup.ts', 'tests/integration/libvirt-global-setup.ts'],
        },
      },
    ],
  },
});
