import { basename, join, resolve } from 'node:path';
import { EngineError } from '../../api/errors';

/**
 * A volume name is a plain file name inside its pool's folder. Anything that could reach another
 * folder (slashes, `..`), hide (leading dot, which Virtdesk's own temporary files use) or confuse
 * tools (NUL, control characters) is refused.
 */
export function validateVolumeName(name: string): string {
  const why = volumeNameProblem(name);
  if (why) {
    throw new EngineError('invalid-argument', `"${printable(name)}" is not a valid image name: ${why}.`, {
      hint: 'Use a plain file name such as "debian.qcow2": letters, digits, dots, dashes, underscores and spaces, no folders.',
    });
  }
  return name;
}

function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function volumeNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'it is empty';
  if (name.includes('\u0000')) return 'it contains a NUL byte';
  if (name.includes('/') || name.includes('\\')) return name.startsWith('/') ? 'it is a path, not a name inside the pool' : 'it contains a slash, so it would leave the pool';
  if (name === '.' || name === '..') return 'it names a folder, not a file';
  if (name.startsWith('.')) return 'it starts with a dot (hidden files are reserved for temporary files)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it contains a control character';
  if (Buffer.byteLength(name) > 255) return 'it is longer than 255 bytes';
  if (name.trim() !== name) return 'it starts or ends with a space';
  return undefined;
}

/** The path of a volume in a pool folder, checked to stay inside it. */
export function volumePath(poolPath: string, name: string): string {
  validateVolumeName(name);
  const path = join(poolPath, name);
  if (resolve(path, '..') !== resolve(poolPath) || basename(path) !== name) {
    throw new EngineError('invalid-argument', `"${name}" would leave the pool folder.`);
  }
  return path;
}

const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validatePoolName(name: string): string {
  if (!POOL_NAME.test(name)) {
    throw new EngineError('invalid-argument', `"${printable(name)}" is not a valid pool name: use 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit.`);
  }
  return name;
}
