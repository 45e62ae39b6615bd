import type { ImplementationOf } from './api/contract';
import { createEventBus, type EventBus } from './api/events';
import type { HostInfo, VirtdeskContract } from './api/virtdesk-api';
import { hostInfo } from './host/host-service';

export interface EngineOptions {
  /** Where definitions, images and logs live; `$VIRTDESK_HOME` or the XDG default. */
  home: string;
  hostKind: HostInfo['hostKind'];
}

/** The engine core as one object a host process owns: the implementation of the contract and its event bus. */
export interface Engine {
  implementation: ImplementationOf<VirtdeskContract>;
  bus: EventBus<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const bus = createEventBus<Record<string, unknown>>();
  const implementation: ImplementationOf<VirtdeskContract> = {
    host: {
      info: () => hostInfo(options.hostKind),
    },
  };
  return { implementation, bus, close: async () => {} };
}
