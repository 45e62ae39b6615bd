import { EngineError, type ErrorCode } from '../../api/errors';

/** The part of qemu-img's stderr worth showing: its own error lines without the program prefix. */
export function qemuImgMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.replace(/^qemu-img: /, '').trim())
    .filter((line) => line.length > 0);
  return lines.join(' ') || 'qemu-img failed without saying why';
}

interface Translation {
  pattern: RegExp;
  code: ErrorCode;
  why: (match: RegExpMatchArray) => string;
  hint?: string;
}

// qemu-img's messages, mapped to plain words. Order matters: the first match wins.
const TRANSLATIONS: Translation[] = [
  {
    pattern: /Failed to get (?:shared )?"(?:write|consistent read)" lock/,
    code: 'conflict',
    why: () => 'the image is in use by another program, most likely a running VM (qemu-img could not lock it)',
    hint: 'Shut down the VM that uses this image, or detach the disk from it, then try again.',
  },
  {
    pattern: /Image is corrupt; cannot be opened read\/write/,
    code: 'invalid-state',
    why: () => 'the image is marked corrupt, so it can only be opened read-only',
    hint: 'Run `virtdesk image check --repair` on it, or restore it from a backup.',
  },
  {
    pattern: /Could not open backing file|Could not open '([^']*)'.*backing/,
    code: 'not-found',
    why: () => 'its backing file (the base image of this linked clone) could not be opened',
    hint: 'Put the base image back where the clone expects it (see `virtdesk image info`), or rebase the clone.',
  },
  {
    pattern: /No such file or directory/,
    code: 'not-found',
    why: () => 'the file does not exist',
  },
  {
    pattern: /Permission denied|Operation not permitted/,
    code: 'permission-denied',
    why: () => 'permission was denied',
    hint: 'Check the file and folder permissions.',
  },
  {
    pattern: /No space left on device|Disk quota exceeded/,
    code: 'resource-exhausted',
    why: () => 'the disk is full',
    hint: 'Free some space on that file system, or use another pool.',
  },
  {
    pattern: /Image is not in (\S+) format|is not in \S+ format/,
    code: 'invalid-argument',
    why: (m) => `the file is not in ${m[1] ?? 'the given'} format`,
    hint: 'Check the format with `virtdesk image info`.',
  },
  {
    pattern: /Unknown (?:file format|driver) '([^']*)'/,
    code: 'invalid-argument',
    why: (m) => `"${m[1] ?? ''}" is not an image format this qemu-img knows`,
  },
  {
    pattern: /Use the --shrink option to perform a shrink operation/,
    code: 'invalid-argument',
    why: () => 'the new size is smaller than the current one, and shrinking was not requested',
  },
  {
    pattern: /Invalid image size specified|Image size must be less than/,
    code: 'invalid-argument',
    why: () => 'the size is not one qemu-img accepts',
  },
];

/** Turns a failed qemu-img run into an EngineError that says what failed and why in plain words. */
export function qemuImgError(action: string, stderr: string, exitCode: number | null): EngineError {
  const raw = qemuImgMessage(stderr);
  for (const t of TRANSLATIONS) {
    const match = raw.match(t.pattern);
    if (match) {
      const options: { hint?: string; details: Record<string, unknown> } = { details: { qemuImg: raw, exitCode } };
      if (t.hint) options.hint = t.hint;
      return new EngineError(t.code, `${action} failed: ${t.why(match)}. (qemu-img: ${raw})`, options);
    }
  }
  return new EngineError('qemu-error', `${action} failed: ${raw}`, { details: { qemuImg: raw, exitCode } });
}
