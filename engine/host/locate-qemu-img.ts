import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { EngineError } from '../api/errors';

const INSTALL_HINT = 'Install it with `apt install qemu-utils` (Debian/Ubuntu) or `dnf install qemu-img` (Fedora), or set VIRTDESK_QEMU_IMG to its path.';

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds qemu-img: `$VIRTDESK_QEMU_IMG` when set (and then only there), else the first one on PATH. */
export async function locateQemuImg(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const override = env.VIRTDESK_QEMU_IMG;
  if (override) {
    if (isAbsolute(override) && (await isExecutable(override))) return override;
    throw new EngineError('unavailable', `VIRTDESK_QEMU_IMG is set to "${override}", which is not an executable file given by an absolute path.`, {
      hint: `Point VIRTDESK_QEMU_IMG at the qemu-img binary, or unset it to use the one on PATH. ${INSTALL_HINT}`,
    });
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'qemu-img');
    if (await isExecutable(candidate)) return candidate;
  }
  throw new EngineError('unavailable', 'qemu-img was not found on PATH; Virtdesk needs it to create and inspect disk images.', { hint: INSTALL_HINT });
}
