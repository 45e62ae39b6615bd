// noVNC's DES (VNC's bit-reversed-key variant): Node's OpenSSL 3 no longer offers DES, and VNC
// authentication needs it. The package exports only rfb.js, so the module is reached by path.
import { DESECBCipher } from '../../node_modules/@novnc/novnc/core/crypto/des.js';
import { QmpClient } from '../../engine/qemu/qmp';

/** The 16-byte response to a VNC authentication challenge. */
export function vncAuthResponse(password: string, challenge: Uint8Array): Uint8Array {
  const key = [...password.slice(0, 8)].map((char) => char.charCodeAt(0));
  const cipher = DESECBCipher.importKey(key, { name: 'DES-ECB' }, false, ['encrypt']);
  const response = cipher.encrypt({ name: 'DES-ECB' }, challenge);
  if (!response) throw new Error('DES-ECB needs a 16-byte challenge');
  return response;
}

/** Sets a VNC password through a QMP socket as soon as QEMU listens on it (what vms.openConsole does). */
export async function setVncPassword(qmpSocket: string, password: string, timeoutMs = 30_000): Promise<void> {
  const qmp = await QmpClient.connect(qmpSocket, { timeoutMs, waitForSocket: true });
  try {
    await qmp.setVncPassword(password);
  } finally {
    await qmp.close();
  }
}

