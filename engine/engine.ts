import type { ImplementationOf } from './api/contract';
import { createEventBus, type EventBus } from './api/events';
import type { HostInfo, VirtdeskContract } from './api/virtdesk-api';
import type { ConsoleGateway } from './console-gateway';
import { claimHome } from './home-lock';
import { createHostService } from './host/host-service';
import { NetworkManager } from './network/network-manager';
import { createNetworkService } from './network/network-service';
import { createPreferencesService } from './preferences/preferences-service';
import { AllowedFolders } from './storage/access/allowed-folders';
import { createStorageService } from './storage/storage-service';
import { vmUsageResolver } from './storage/vm-usage';
import { VmManager } from './vm/manager';
import { createVmService, publishVmEvents } from './vm/vm-service';
import type { WorkerFactory } from './vm/supervision/worker';

export interface EngineOptions {
  /** Where definitions, images and logs live; `$VIRTDESK_HOME` or the XDG default. */
  home: string;
  env?: NodeJS.ProcessEnv;
  hostKind: HostInfo['hostKind'];
  /** Where this host can be reached (serve's origin), told to a second host that finds the home taken. */
  hostAddress?: string;
  /** Makes the per-VM supervisor processes: child_process.fork under serve, utilityProcess under Electron. */
  workers: WorkerFactory;
  /** The supervisor module those workers run. */
  supervisorEntry: string;
  /** How this host hands VM consoles to its renderers. */
  consoles: ConsoleGateway;
  statsIntervalMs?: number;
  log?: (line: string) => void;
}

/** The engine core as one object a host process owns: the implementation of the contract and its event bus. */
export interface Engine {
  implementation: ImplementationOf<VirtdeskContract>;
  bus: EventBus<Record<string, unknown>>;
  vms: VmManager;
  /**
   * The folders limited sessions may name files in. A host adds what the user picks in its own
   * file dialog (`allowedFolders.add(folder)`): that is the user acting directly.
   */
  allowedFolders: AllowedFolders;
  /** Detaches from every VM; QEMU keeps running (closing a host never stops a VM). */
  close(): Promise<void>;
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Before anything supervises: a second host on this home fails here, naming the first.
  const claim = await claimHome(options.home, { kind: options.hostKind, ...(options.hostAddress ? { address: options.hostAddress } : {}) });
  try {
    return await openEngine(options, env, log, claim.release);
  } catch (error) {
    await claim.release();
    throw error;
  }
}

async function openEngine(options: EngineOptions, env: NodeJS.ProcessEnv, log: (line: string) => void, releaseHome: () => Promise<void>): Promise<Engine> {
  const bus = createEventBus<Record<string, unknown>>();
  const networks = new NetworkManager({ home: options.home, env });
  const vms = await VmManager.open({
    home: options.home,
    env,
    workers: options.workers,
    supervisorEntry: options.supervisorEntry,
    onEvent: publishVmEvents(bus),
    log,
    ...(options.statsIntervalMs === undefined ? {} : { statsIntervalMs: options.statsIntervalMs }),
    networks,
  });
  const autostart = await networks.startAutostart().catch((error: unknown) => ({ started: [], failed: [{ name: '(all)', error }] }));
  for (const failure of autostart.failed) log(`[networks] autostart of ${failure.name} failed: ${failure.error instanceof Error ? failure.error.message : String(failure.error)}`);

  // One answer to "may this session name that file?" for the storage and VM services.
  const access = new AllowedFolders({ home: options.home, env });
  const implementation: ImplementationOf<VirtdeskContract> = {
    host: createHostService({ home: options.home, hostKind: options.hostKind }),
    vms: createVmService({ manager: vms, consoles: options.consoles, bus, access }),
    preferences: createPreferencesService({ home: options.home, bus }),
    storage: createStorageService({ home: options.home, bus, env, usage: vmUsageResolver(options.home, env), access }),
    networks: createNetworkService({ home: options.home, bus, env, manager: networks }),
  };
  return {
    implementation,
    bus,
    vms,
    allowedFolders: access,
    close: async () => {
      await vms.close();
      await releaseHome();
    },
  };
}
