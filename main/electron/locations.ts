import { dirname, join } from 'node:path';

/** Where the built parts of the app are, as seen from the main bundle's folder (dist/electron). */
export interface AppLocations {
  /** dist/renderer: served over app://, may sit inside app.asar (Electron reads asar through file: URLs). */
  rendererRoot: string;
  /** dist/electron/preload.cjs: loaded by Electron itself, asar is fine. */
  preloadPath: string;
  /** dist/node/supervisor.cjs, outside app.asar when packaged (see unpackedPath). */
  supervisorEntry: string;
  /** assets/icons/256x256.png: the windows' icon (electron.config.ts `files` packs it). */
  iconPath: string;
}

const ASAR_SEGMENT = /([\\/])app\.asar(?=[\\/])/;

/**
 * The same path in `app.asar.unpacked` when it points into `app.asar`. The per-VM supervisor is one
 * CommonJS file run by a utilityProcess for as long as its VM runs; electron.config.ts unpacks
 * dist/node so it is read from a plain file, outside the archive and its read-only fs layer.
 */
export function unpackedPath(path: string): string {
  return path.replace(ASAR_SEGMENT, '$1app.asar.unpacked');
}

/**
 * The app's files beside the main bundle, in the repo (`<repo>/dist/electron`, `npm start`) and in a
 * package (`<resources>/app.asar/dist/electron`, electron.config.ts `files`).
 */
export function appLocations(electronDir: string): AppLocations {
  const distDir = dirname(electronDir);
  return {
    iconPath: join(dirname(distDir), 'assets', 'icons', '256x256.png'),
    rendererRoot: join(distDir, 'renderer'),
    preloadPath: join(electronDir, 'preload.cjs'),
    supervisorEntry: unpackedPath(join(distDir, 'node', 'supervisor.cjs')),
  };
}
