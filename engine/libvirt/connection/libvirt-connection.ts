// One open libvirt connection with typed wrappers for the calls Virtdesk makes.
import { DOMAIN_EVENT_ID, LIFECYCLE_EVENTS, domainRef, stateName, typedParamValue, uuidBytes, wireDomain, type DomainEvent, type DomainRef, type DomainState } from '../domains/domain-types';
import type { XdrTypeMap } from '../protocol/protocol';
import type { CallOptions, RpcClient, RpcEvent } from '../rpc/client';
import type { LibvirtUri } from '../uri';

export interface DomainStatsRecord {
  domain: DomainRef;
  /** libvirt's flat stats: `state.state`, `cpu.time`, `balloon.current`, `vcpu.0.time`, `block.0.rd.bytes`, ... */
  stats: Record<string, number | string | boolean>;
}

export interface DomainInfo {
  state: DomainState | `state-${number}`;
  maxMemoryKiB: number;
  memoryKiB: number;
  vcpus: number;
  cpuTimeNs: number;
}

// virConnectGetAllDomainStats stats groups (virDomainStatsTypes).
export const DOMAIN_STATS = { STATE: 1, CPU_TOTAL: 2, BALLOON: 4, VCPU: 8, INTERFACE: 16, BLOCK: 32 } as const;

type Callback = { id: number; eventId: number };

export class LibvirtConnection {
  private readonly listeners = new Set<(event: DomainEvent) => void>();
  private callbacks: Callback[] = [];
  private stopEvents: (() => void) | undefined;

  constructor(
    readonly uri: LibvirtUri,
    readonly client: RpcClient,
  ) {}

  /** Settles when the connection ends, with why (undefined: closed on purpose). */
  get closed(): Promise<Error | undefined> { return this.client.closed; }
  get isOpen(): boolean { return this.client.isOpen; }

  async close(options: CallOptions = {}): Promise<void> {
    if (!this.client.isOpen) return;
    try {
      await this.client.call('CONNECT_CLOSE', undefined, { timeoutMs: 2000, ...options });
    } catch { /* closing anyway */ }
    this.client.close();
    await this.client.closed;
  }

  // Host
  async hostname(options?: CallOptions): Promise<string> {
    return (await this.client.call('CONNECT_GET_HOSTNAME', undefined, options)).hostname;
  }

  /** The hypervisor's version (QEMU's for qemu://) and libvirt's, as `major.minor.micro`. */
  async versions(options?: CallOptions): Promise<{ hypervisor: string; libvirt: string }> {
    const [hypervisor, library] = await Promise.all([
      this.client.call('CONNECT_GET_VERSION', undefined, options),
      this.client.call('CONNECT_GET_LIB_VERSION', undefined, options),
    ]);
    return { hypervisor: versionString(hypervisor.hv_ver), libvirt: versionString(library.lib_ver) };
  }

  async capabilities(options?: CallOptions): Promise<string> {
    return (await this.client.call('CONNECT_GET_CAPABILITIES', undefined, options)).capabilities;
  }

  async nodeInfo(options?: CallOptions): Promise<{ cpuModel: string; memoryKiB: number; cpus: number; mhz: number }> {
    const info = await this.client.call('NODE_GET_INFO', undefined, options);
    return { cpuModel: String.fromCharCode(...info.model.filter((c) => c > 0)), memoryKiB: Number(info.memory), cpus: info.cpus, mhz: info.mhz };
  }

  // Domains
  async listAllDomains(flags = 0, options?: CallOptions): Promise<DomainRef[]> {
    const result = await this.client.call('CONNECT_LIST_ALL_DOMAINS', { need_results: 1, flags }, options);
    return result.domains.map(domainRef);
  }

  async lookupDomain(nameOrUuid: string, options?: CallOptions): Promise<DomainRef> {
    const byUuid = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(nameOrUuid);
    const result = byUuid
      ? await this.client.call('DOMAIN_LOOKUP_BY_UUID', { uuid: uuidBytes(nameOrUuid) }, options)
      : await this.client.call('DOMAIN_LOOKUP_BY_NAME', { name: nameOrUuid }, options);
    return domainRef(result.dom);
  }

  async domainXml(domain: DomainRef, flags = 0, options?: CallOptions): Promise<string> {
    return (await this.client.call('DOMAIN_GET_XML_DESC', { dom: wireDomain(domain), flags }, options)).xml;
  }

  async defineXml(xml: string, flags = 0, options?: CallOptions): Promise<DomainRef> {
    return domainRef((await this.client.call('DOMAIN_DEFINE_XML_FLAGS', { xml, flags }, options)).dom);
  }

  /** Starts a transient domain from XML. */
  async createXml(xml: string, flags = 0, options?: CallOptions): Promise<DomainRef> {
    return domainRef((await this.client.call('DOMAIN_CREATE_XML', { xml_desc: xml, flags }, options)).dom);
  }

  async undefine(domain: DomainRef, flags = 0, options?: CallOptions): Promise<void> {
    await this.client.call('DOMAIN_UNDEFINE_FLAGS', { dom: wireDomain(domain), flags }, options);
  }

  async start(domain: DomainRef, flags = 0, options?: CallOptions): Promise<DomainRef> {
    return domainRef((await this.client.call('DOMAIN_CREATE_WITH_FLAGS', { dom: wireDomain(domain), flags }, options)).dom);
  }

  /** Asks the guest to shut down (ACPI power button or guest agent, as the hypervisor chooses); never forces. */
  async shutdown(domain: DomainRef, flags = 0, options?: CallOptions): Promise<void> {
    await this.client.call('DOMAIN_SHUTDOWN_FLAGS', { dom: wireDomain(domain), flags }, options);
  }

  async reboot(domain: DomainRef, flags = 0, options?: CallOptions): Promise<void> {
    await this.client.call('DOMAIN_REBOOT', { dom: wireDomain(domain), flags }, options);
  }

  /** Forces the domain off at once, like pulling the plug. */
  async destroy(domain: DomainRef, options?: CallOptions): Promise<void> {
    await this.client.call('DOMAIN_DESTROY', { dom: wireDomain(domain) }, options);
  }

  async suspend(domain: DomainRef, options?: CallOptions): Promise<void> {
    await this.client.call('DOMAIN_SUSPEND', { dom: wireDomain(domain) }, options);
  }

  async resume(domain: DomainRef, options?: CallOptions): Promise<void> {
    await this.client.call('DOMAIN_RESUME', { dom: wireDomain(domain) }, options);
  }

  /** Saves the running domain's memory on the host and stops it; the next start restores it. */
  async managedSave(domain: DomainRef, flags = 0, options?: CallOptions): Promise<void> {
    await this.client.call('DOMAIN_MANAGED_SAVE', { dom: wireDomain(domain), flags }, options);
  }

  async hasManagedSave(domain: DomainRef, options?: CallOptions): Promise<boolean> {
    return (await this.client.call('DOMAIN_HAS_MANAGED_SAVE_IMAGE', { dom: wireDomain(domain), flags: 0 }, options)).result !== 0;
  }

  async managedSaveRemove(domain: DomainRef, options?: CallOptions): Promise<void> {
    await this.client.call('DOMAIN_MANAGED_SAVE_REMOVE', { dom: wireDomain(domain), flags: 0 }, options);
  }

  async state(domain: DomainRef, options?: CallOptions): Promise<{ state: DomainState | `state-${number}`; reason: number }> {
    const result = await this.client.call('DOMAIN_GET_STATE', { dom: wireDomain(domain), flags: 0 }, options);
    return { state: stateName(result.state), reason: result.reason };
  }

  async info(domain: DomainRef, options?: CallOptions): Promise<DomainInfo> {
    const info = await this.client.call('DOMAIN_GET_INFO', { dom: wireDomain(domain) }, options);
    return { state: stateName(info.state), maxMemoryKiB: Number(info.maxMem), memoryKiB: Number(info.memory), vcpus: info.nrVirtCpu, cpuTimeNs: Number(info.cpuTime) };
  }

  /** Stats of every domain (or of `domains`) in one call: `stats` is a sum of DOMAIN_STATS groups (0: all). */
  async allDomainStats(stats = 0, flags = 0, domains: DomainRef[] = [], options?: CallOptions): Promise<DomainStatsRecord[]> {
    const result = await this.client.call('CONNECT_GET_ALL_DOMAIN_STATS', { doms: domains.map(wireDomain), stats, flags }, options);
    return result.retStats.map((record) => ({
      domain: domainRef(record.dom),
      stats: Object.fromEntries(record.params.map((param) => [param.field, typedParamValue(param.value)])),
    }));
  }

  // Events
  /** Delivers lifecycle, reboot and device added/removed events of every domain; registers with libvirt on first use. */
  async onDomainEvent(listener: (event: DomainEvent) => void, options?: CallOptions): Promise<() => void> {
    this.listeners.add(listener);
    if (!this.stopEvents) {
      this.stopEvents = this.client.onEvent((event) => this.dispatch(event));
      try {
        for (const eventId of Object.values(DOMAIN_EVENT_ID)) {
          const { callbackID } = await this.client.call('CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY', { eventID: eventId, dom: null }, options);
          this.callbacks.push({ id: callbackID, eventId });
        }
      } catch (error) {
        this.listeners.delete(listener);
        throw error;
      }
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0 || !this.client.isOpen) return;
      const callbacks = this.callbacks;
      this.callbacks = [];
      this.stopEvents?.();
      this.stopEvents = undefined;
      for (const callback of callbacks) {
        this.client.call('CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY', { callbackID: callback.id }).catch(() => { /* the connection may be closing */ });
      }
    };
  }

  private dispatch({ procedure, message }: RpcEvent): void {
    const event = toDomainEvent(procedure, message);
    if (!event) return;
    for (const listener of this.listeners) listener(event);
  }
}

function toDomainEvent(procedure: string, message: unknown): DomainEvent | undefined {
  switch (procedure) {
    case 'DOMAIN_EVENT_CALLBACK_LIFECYCLE': {
      const { msg } = message as XdrTypeMap['remote_domain_event_callback_lifecycle_msg'];
      return { kind: 'lifecycle', domain: domainRef(msg.dom), event: LIFECYCLE_EVENTS[msg.event] ?? `event-${msg.event}`, detail: msg.detail };
    }
    case 'DOMAIN_EVENT_CALLBACK_REBOOT':
      return { kind: 'reboot', domain: domainRef((message as XdrTypeMap['remote_domain_event_callback_reboot_msg']).msg.dom) };
    case 'DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED': {
      const { msg } = message as XdrTypeMap['remote_domain_event_callback_device_removed_msg'];
      return { kind: 'device-removed', domain: domainRef(msg.dom), alias: msg.devAlias };
    }
    case 'DOMAIN_EVENT_CALLBACK_DEVICE_ADDED': {
      const added = message as XdrTypeMap['remote_domain_event_callback_device_added_msg'];
      return { kind: 'device-added', domain: domainRef(added.dom), alias: added.devAlias };
    }
    default:
      return undefined;
  }
}

function versionString(version: bigint): string {
  const value = Number(version);
  return `${Math.floor(value / 1_000_000)}.${Math.floor(value / 1000) % 1000}.${value % 1000}`;
}
