import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { EngineError } from '../api/errors';
import { locateQemuImg } from './locate-qemu-img';

export const QEMU_BINARY_NAME = 'qemu-system-x86_64';

export const QEMU_INSTALL_HINT =
  'Install it with `sudo apt install qemu-system-x86 qemu-utils` (Debian/Ubuntu), ' +
  '`sudo dnf install qemu-system-x86-core qemu-img` (Fedora) or `sudo pacman -S qemu-base` (Arch), ' +
  'or set VIRTDESK_QEMU to the path of qemu-system-x86_64.';

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Finds qemu-system-x86_64: `$VIRTDESK_QEMU` when set (and then only there), else the first on PATH. */
export async function findQemu(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const override = env.VIRTDESK_QEMU;
  if (override) {
    if (isAbsolute(override) && (await isExecutableFile(override))) return override;
    throw new EngineError('unavailable', `VIRTDESK_QEMU is set to "${override}", which is not an executable file given by an absolute path`, {
      hint: `Point VIRTDESK_QEMU at qemu-system-x86_64, or unset it to use the one on PATH. ${QEMU_INSTALL_HINT}`,
      details: { override },
    });
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, QEMU_BINARY_NAME);
    if (await isExecutableFile(candidate)) return candidate;
  }
  throw new EngineError('unavailable', `QEMU is not installed: ${QEMU_BINARY_NAME} was not found on PATH`, { hint: QEMU_INSTALL_HINT });
}

/** Finds qemu-img (`$VIRTDESK_QEMU_IMG`, else PATH); one rule shared with engine/storage. */
export function findQemuImg(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return locateQemuImg(env);
}
