/** A host file a VM definition names, with the field that names it (`disks[0].source`). */
export interface HostPathField {
  field: string;
  path: string;
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/**
 * Every host file a VM definition (or a partial input or patch of one) names: disk images,
 * CD-ROM media, a direct-boot kernel and initrd. Tolerant of partial and unparsed input, so a
 * host can check the paths before anything else reads the definition.
 */
export function hostPathsOf(definition: unknown): HostPathField[] {
  const def = record(definition);
  if (!def) return [];
  const found: HostPathField[] = [];
  const add = (field: string, value: unknown) => {
    if (typeof value === 'string') found.push({ field, path: value });
  };
  const each = (key: string, pathKey: string) => {
    const list = def[key];
    if (Array.isArray(list)) list.forEach((item, i) => add(`${key}[${i}].${pathKey}`, record(item)?.[pathKey]));
  };
  each('disks', 'source');
  each('cdroms', 'media');
  const kernel = record(def.directKernel);
  if (kernel) {
    add('directKernel.kernel', kernel.kernel);
    add('directKernel.initrd', kernel.initrd);
  }
  return found;
}

/** The paths `next` names that `current` does not: what an edit adds. */
export function addedHostPaths(current: unknown, next: unknown): HostPathField[] {
  const known = new Set(hostPathsOf(current).map((p) => p.path));
  return hostPathsOf(next).filter((p) => !known.has(p.path));
}
