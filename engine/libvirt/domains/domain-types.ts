import type { XdrTypeMap } from '../protocol/protocol';

/** A domain as libvirt names it on the wire: name, UUID, and its id while running (-1 when not). */
export interface DomainRef {
  name: string;
  uuid: string;
  id: number;
}

// virDomainState (include/libvirt/libvirt-domain.h).
export const DOMAIN_STATES = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended'] as const;
export type DomainState = (typeof DOMAIN_STATES)[number];

// virDomainEventType.
export const LIFECYCLE_EVENTS = ['defined', 'undefined', 'started', 'suspended', 'resumed', 'stopped', 'shutdown', 'pmsuspended', 'crashed'] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

// virDomainEventID values Virtdesk listens to.
export const DOMAIN_EVENT_ID = { LIFECYCLE: 0, REBOOT: 1, DEVICE_REMOVED: 15, DEVICE_ADDED: 19 } as const;

export type DomainEvent =
  | { kind: 'lifecycle'; domain: DomainRef; event: LifecycleEvent | `event-${number}`; detail: number }
  | { kind: 'reboot'; domain: DomainRef }
  | { kind: 'device-added' | 'device-removed'; domain: DomainRef; alias: string };

export function stateName(state: number): DomainState | `state-${number}` {
  return DOMAIN_STATES[state] ?? `state-${state}`;
}

export function uuidString(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`'${uuid}' is not a UUID`);
  return Buffer.from(hex, 'hex');
}

type WireDomain = XdrTypeMap['remote_nonnull_domain'];

export function domainRef(wire: WireDomain): DomainRef {
  return { name: wire.name, uuid: uuidString(wire.uuid), id: wire.id };
}

export function wireDomain(domain: DomainRef): WireDomain {
  return { name: domain.name, uuid: uuidBytes(domain.uuid), id: domain.id };
}

/** A typed parameter's value: 64-bit numbers become plain numbers (exact below 2^53). */
export function typedParamValue(value: XdrTypeMap['remote_typed_param_value']): number | string | boolean {
  switch (value.type) {
    case 1: return value.i;
    case 2: return value.ui;
    case 3: return Number(value.l);
    case 4: return Number(value.ul);
    case 5: return value.d;
    case 6: return value.b !== 0;
    case 7: return value.s;
  }
}
