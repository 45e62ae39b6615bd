import { generateMac, nextDeviceId } from '../../model';

type Json = Record<string, unknown>;
const DEVICE_LISTS = [
  ['disks', 'disk'],
  ['cdroms', 'cdrom'],
  ['nics', 'net'],
] as const;

/**
 * Gives devices added by an edit what createVmDefinition gives new VMs: an id where none was
 * given, and a MAC unique across all VMs for a new NIC. Devices that have them keep them.
 */
export function fillNewDevices(document: unknown, macsInUse: ReadonlySet<string>): unknown {
  if (typeof document !== 'object' || document === null) return document;
  const doc = { ...(document as Json) };
  const ids = new Set<string>();
  for (const [list] of DEVICE_LISTS) {
    for (const device of (Array.isArray(doc[list]) ? doc[list] : []) as Json[]) if (typeof device?.id === 'string') ids.add(device.id);
  }
  const macs = new Set(macsInUse);
  for (const nic of (Array.isArray(doc.nics) ? doc.nics : []) as Json[]) if (typeof nic?.mac === 'string') macs.add(nic.mac.toLowerCase());
  for (const [list, prefix] of DEVICE_LISTS) {
    if (!Array.isArray(doc[list])) continue;
    doc[list] = (doc[list] as unknown[]).map((entry) => {
      if (typeof entry !== 'object' || entry === null) return entry;
      const device = { ...(entry as Json) };
      if (device.id === undefined) {
        device.id = nextDeviceId(prefix, ids);
        ids.add(device.id as string);
      }
      if (list === 'nics' && device.mac === undefined) {
        device.mac = generateMac(macs);
        macs.add(device.mac as string);
      }
      return device;
    });
  }
  return doc;
}
