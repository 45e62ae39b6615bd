import { withCommandQmp } from '../runtime/qmp-session';
import type { VmRuntimePaths } from '../runtime/paths';

/** How long a one-time VNC password lets a viewer in: the viewer connects within seconds. */
const VNC_PASSWORD_SECONDS = 30;

function oneTimePassword(): string {
  // VNC's DES challenge uses at most 8 characters.
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(6));
  return Buffer.from(bytes).toString('base64url').slice(0, 8);
}

/** Sets a fresh VNC password on a running VM that expires in a few seconds; returns it. */
export async function grantVncPassword(paths: VmRuntimePaths, vmName: string): Promise<string> {
  const password = oneTimePassword();
  await withCommandQmp(paths, vmName, async (qmp) => {
    await qmp.setVncPassword(password);
    await qmp.expireVncPassword(`+${VNC_PASSWORD_SECONDS}`);
  });
  return password;
}
