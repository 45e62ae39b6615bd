import { effectiveBootOrder } from '../../model/boot';
import type { VmDefinition } from '../../model/definition';

/**
 * `bootindex` of each bootable device: the kinds in boot order (boot-once first), and within a
 * kind every device in definition order. Devices of kinds not listed get none; without
 * `-boot strict=on` the firmware still tries them last. The runtime can apply the order without
 * boot-once (`ignoreBootOnce`) through qom-set on `bootindex`; it takes effect at the next reset.
 */
export function planBootIndexes(def: VmDefinition, options: { ignoreBootOnce?: boolean } = {}): ReadonlyMap<string, number> {
  const indexes = new Map<string, number>();
  let next = 1;
  for (const kind of effectiveBootOrder(def.boot, options)) {
    const devices = kind === 'disk' ? def.disks : kind === 'cdrom' ? def.cdroms : def.nics;
    for (const device of devices) indexes.set(device.id, next++);
  }
  return indexes;
}
