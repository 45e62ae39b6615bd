import type { VmDefinition } from '../../../model';

/**
 * Which parts of two definitions differ in what the guest sees (its devices and machine), as
 * dotted paths. Metadata (name, description, OS, autostart), the balloon target and host-side
 * port forwards are not hardware: a saved memory image loads fine across changes to them.
 */
export function hardwareChanges(a: VmDefinition, b: VmDefinition): string[] {
  const left = hardwareView(a);
  const right = hardwareView(b);
  const changed: string[] = [];
  for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
    const x = left[key];
    const y = right[key];
    if (stable(x) === stable(y)) continue;
    if (isObject(x) && isObject(y)) {
      for (const sub of new Set([...Object.keys(x), ...Object.keys(y)])) if (stable(x[sub]) !== stable(y[sub])) changed.push(`${key}.${sub}`);
    } else {
      changed.push(key);
    }
  }
  return changed.sort();
}

const NOT_HARDWARE = new Set(['schemaVersion', 'id', 'name', 'description', 'osId', 'createdAt', 'autostart']);

function hardwareView(def: VmDefinition): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(def)) if (!NOT_HARDWARE.has(key)) view[key] = value;
  view.memory = { ...def.memory, currentMiB: undefined };
  view.nics = def.nics.map((nic) => (nic.network.kind === 'user' ? { ...nic, network: { ...nic.network, portForwards: undefined } } : nic));
  return view;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with sorted keys, so key order never counts as a difference. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    isObject(inner) ? Object.fromEntries(Object.keys(inner).sort().map((k) => [k, inner[k]])) : inner,
  ) ?? 'undefined';
}
