import { defineContract } from './contract';
import { hostMethods } from './host-api';
import { networkEvents, networkMethods } from './network-api';
import { preferencesEvents, preferencesMethods } from './preferences-api';
import { storageEvents, storageMethods } from './storage-api';
import { vmEvents, vmMethods } from './vm-api';

export * from './host-api';
export * from './network-api';
export * from './preferences-api';
export * from './storage-api';
export * from './vm-api';

/** The one contract between every host (Electron main, `virtdesk serve`) and the renderer. */
export const virtdeskContract = defineContract({
  services: {
    host: hostMethods,
    vms: vmMethods,
    preferences: preferencesMethods,
    storage: storageMethods,
    networks: networkMethods,
  },
  events: {
    ...vmEvents,
    ...preferencesEvents,
    ...storageEvents,
    ...networkEvents,
  },
});

export type VirtdeskContract = typeof virtdeskContract;
