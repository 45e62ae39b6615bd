import { defineConfig } from '@playwright/test';

// `npm run test:electron`: the real Electron app through Playwright's Electron support. It needs the
// Electron binary (downloaded on first launch, impossible on the CI machines): without it every
// test skips and says why.
export default defineConfig({
  testDir: 'tests/electron',
  testMatch: '**/*.electron.ts',
  workers: 1,
  fullyParallel: false,
  timeout: 240_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  outputDir: 'test-results/electron',
});
