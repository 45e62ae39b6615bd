/**
 * noVNC is loaded on demand: only console views need it, and its top-level await should not
 * delay the first paint of the VM list.
 */
export async function loadRfb(): Promise<typeof import('@novnc/novnc').default> {
  const module = await import('@novnc/novnc');
  return module.default;
}
