/** `'…'` for /bin/sh, which runs QEMU's `exec:` migration URIs. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Where `migrate` streams a VM's state to save it in a file (QEMU 7.2 has no `file:` URI). */
export function migrationToFileUri(path: string): string {
  return `exec:cat > ${shellQuote(path)}`;
}

/** Where a QEMU started with `-incoming defer` reads a saved state from. */
export function migrationFromFileUri(path: string): string {
  return `exec:cat ${shellQuote(path)}`;
}
