import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import config from '../../../electron.config';
import { appLocations, unpackedPath } from '../../../main/electron/locations';

describe('app locations', () => {
  it('finds renderer, preload and supervisor beside dist/electron in the repo (npm start)', () => {
    expect(appLocations('/home/me/virtdesk/dist/electron')).toEqual({
      rendererRoot: '/home/me/virtdesk/dist/renderer',
      preloadPath: '/home/me/virtdesk/dist/electron/preload.cjs',
      supervisorEntry: '/home/me/virtdesk/dist/node/supervisor.cjs',
      iconPath: '/home/me/virtdesk/assets/icons/256x256.png',
    });
  });

  it('keeps renderer and preload in app.asar but loads the supervisor from app.asar.unpacked', () => {
    expect(appLocations('/opt/Virtdesk/resources/app.asar/dist/electron')).toEqual({
      rendererRoot: '/opt/Virtdesk/resources/app.asar/dist/renderer',
      preloadPath: '/opt/Virtdesk/resources/app.asar/dist/electron/preload.cjs',
      supervisorEntry: '/opt/Virtdesk/resources/app.asar.unpacked/dist/node/supervisor.cjs',
      iconPath: '/opt/Virtdesk/resources/app.asar/assets/icons/256x256.png',
    });
    expect(unpackedPath('/a/my.app.asar.d/x')).toBe('/a/my.app.asar.d/x');
    expect(unpackedPath('/a/app.asarx/x')).toBe('/a/app.asarx/x');
  });

  it('matches what the build writes and what the package holds', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { main: string };
    expect(pkg.main).toBe('dist/electron/main.cjs');
    const build = readFileSync(new URL('../../../scripts/build.mjs', import.meta.url), 'utf8');
    expect(build).toMatch(/supervisor: 'engine\/vm\/supervision\/supervisor-main\.ts'/);
    expect(build).toMatch(/preload: 'main\/electron\/preload\.ts'/);
    expect(config.files).toEqual(expect.arrayContaining(['dist/electron/**', 'dist/node/**', 'dist/renderer/**', 'package.json', 'assets/icons/256x256.png']));
    expect(existsSync(fileURLToPath(new URL('../../../assets/icons/256x256.png', import.meta.url)))).toBe(true);
    expect(config.asarUnpack).toEqual(['dist/node/**']);
  });

  it('is described as what it is: one CommonJS supervisor file, nowhere an ES module', () => {
    const build = readFileSync(new URL('../../../scripts/build.mjs', import.meta.url), 'utf8');
    expect(build).toMatch(/entryPoints: \{[^}]*supervisor: 'engine\/vm\/supervision\/supervisor-main\.ts'[^}]*\},\s*outdir: 'dist\/node',\s*outExtension: \{ '\.js': '\.cjs' \}/);
    const architecture = readFileSync(new URL('../../../docs/ARCHITECTURE.md', import.meta.url), 'utf8');
    const locations = readFileSync(new URL('../../../main/electron/locations.ts', import.meta.url), 'utf8');
    for (const text of [architecture, locations]) {
      expect(text).not.toMatch(/supervisor[^\n]{0,40}\.mjs|ES module with chunks/);
      expect(text).toMatch(/supervisor\.cjs/);
    }
  });
});
