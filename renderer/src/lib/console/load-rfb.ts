import type RFB from '@novnc/novnc';

/**
 * noVNC is loaded on demand: only console views need it, and its top-level await should not
 * delay the first paint of the VM list.
 */
export async function loadRfb(): Promise<typeof RFB> {
  const module = await import('@novnc/novnc');
  return module.default;
}
