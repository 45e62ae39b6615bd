import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImplementationOf, PeerInfo } from '../api/contract';
import { EngineError, problemsOf } from '../model/errors';
import type { EventBus } from '../api/events';
import type { VirtdeskContract } from '../api/virtdesk-api';
import { assertJsonBounds } from '../api/json-bounds';
import { VM_DEFINITION_BOUNDS, type VmDetails, type VmStats } from '../api/vm-api';
import type { ConsoleGateway } from '../console-gateway';
import { assertValidVmDefinition, parseVmDefinition, type VmDefinition } from '../model';
import { cloneVm } from './ops/clone/clone-vm';
import { assertNotTemplate, isTemplate, markTemplate, unmarkTemplate } from './ops/clone/template';
import type { VmManager, VmManagerEvent } from './manager';
import { applyMergePatch } from './definitions/merge-patch';
import { fillNewDevices } from './definitions/new-devices';
import { progressReporter } from '../storage/storage-service';
import { previewVm } from './ops/create-vm';
import { withCommandQmp } from './runtime/qmp-session';
import { discardSavedState, readSavedState } from './ops/save-restore/saved-state';
import { createSnapshot, deleteSnapshot, listSnapshots, revertSnapshot, snapshotThumbnail, type VmLifecycle } from './ops/snapshots';
import { serialConsoleEndpoint } from './supervision/serial-mux/serial-console';
import type { VmStatsSample } from './stats/collector';
import { StatsBatcher } from './stats/batch';

type VmImplementation = ImplementationOf<VirtdeskContract>['vms'];

/** Fields a running VM takes without a restart: metadata, and the balloon target. */
const LIVE_FIELDS = ['name', 'description', 'tags', 'osId', 'autostart', 'memory.currentMiB'];
const isLive = (path: string) => LIVE_FIELDS.some((field) => path === field || path.startsWith(`${field}.`));

/** How long a one-time VNC password lets a viewer in: the viewer connects within seconds. */
const VNC_PASSWORD_SECONDS = 30;

export function statsToWire(id: string, sample: VmStatsSample): VmStats {
  return {
    id,
    at: sample.at,
    cpuPercent: sample.cpuPercent,
    rssBytes: sample.rssBytes,
    pssBytes: sample.pssBytes,
    guestMemoryBytes: sample.guestMemoryBytes,
    blockReadBytes: sample.blockReadBytes,
    blockWriteBytes: sample.blockWriteBytes,
    netRxBytes: sample.netRxBytes,
    netTxBytes: sample.netTxBytes,
  };
}

/**
 * Forwards the manager's events to the bus under the contract's topics. Stats samples of all VMs
 * go out together as one `vms.stats` event per tick (StatsBatcher).
 */
export function publishVmEvents(bus: EventBus<Record<string, unknown>>, options: { statsWindowMs?: number } = {}): (event: VmManagerEvent) => void {
  const stats = new StatsBatcher((samples) => bus.emit('vms.stats', { samples }), options.statsWindowMs);
  return (event) => {
    switch (event.type) {
      case 'vms.changed':
        bus.emit('vms.changed', { ids: event.ids, summaries: event.summaries });
        break;
      case 'vm.state':
        bus.emit('vm.state', { id: event.id, state: event.state, stateReason: event.stateReason });
        break;
      case 'vm.stats':
        stats.add(statsToWire(event.id, event.stats));
        break;
      case 'vm.progress':
        bus.emit('vm.progress', { id: event.id, operation: event.operation, fraction: event.fraction });
        break;
      case 'vm.event':
        break;
    }
  };
}

function oneTimePassword(): string {
  // VNC's DES challenge uses at most 8 characters.
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(6));
  return Buffer.from(bytes).toString('base64url').slice(0, 8);
}

/** The vms service of the contract over the VM manager of this host. */
export function createVmService(options: { manager: VmManager; consoles: ConsoleGateway; bus?: EventBus<Record<string, unknown>> }): VmImplementation {
  const { manager, consoles, bus } = options;
  const registry = manager.registry;
  const pendingFile = (def: Pick<VmDefinition, 'id'>) => join(registry.paths(def).runDir, 'pending-restart.json');

  async function pendingRestart(def: VmDefinition, running: boolean): Promise<string[]> {
    if (!running) return [];
    try {
      return JSON.parse(await readFile(pendingFile(def), 'utf8')) as string[];
    } catch {
      return [];
    }
  }

  async function details(ref: string): Promise<VmDetails> {
    const { definition, runtime } = await manager.get(ref);
    const running = runtime.pid !== null;
    return {
      definition,
      runtime: {
        state: runtime.state,
        stateReason: runtime.stateReason,
        pid: runtime.pid,
        startedAt: runtime.startedAt,
        accelerator: runtime.accelerator,
        cpuModel: runtime.cpuModel,
        ipAddresses: runtime.ipAddresses,
        savedAt: runtime.savedAt,
        template: runtime.template,
      },
      pendingRestart: await pendingRestart(definition, running),
    };
  }

  /** Reverts stop and start the VM through the manager, so its supervisor follows the new QEMU. */
  const lifecycle: VmLifecycle = {
    forceOff: async (def) => {
      await manager.stop(def.id, { force: true });
    },
    start: (def, resume) => manager.start(def.id, resume ? { resume } : {}),
  };
  const snapshotContext = { home: registry.home, env: registry.env };

  async function applyLive(def: VmDefinition, changed: string[], running: boolean): Promise<void> {
    if (!running) return;
    if (changed.includes('memory.currentMiB') && def.balloon) {
      await withCommandQmp(registry.paths(def), def.name, (qmp) => qmp.setBalloonBytes(def.memory.currentMiB * 1024 * 1024));
    }
    const needRestart = changed.filter((path) => !isLive(path));
    if (needRestart.length === 0) return;
    const previous = await pendingRestart(def, true);
    await writeFile(pendingFile(def), JSON.stringify([...new Set([...previous, ...needRestart])].sort()));
  }

  return {
    list: () => manager.list(),
    get: ({ id }) => details(id),

    preview: async ({ input }) => {
      try {
        return { definition: await previewVm(registry, input), problems: [] };
      } catch (error) {
        if (!(error instanceof EngineError)) throw error;
        return { definition: null, problems: problemsOf(error) };
      }
    },

    create: async ({ input, operationId }, { signal }) => {
      const report = operationId === undefined || bus === undefined ? undefined : progressReporter(bus, operationId);
      const def = await manager.create(input, { signal, ...(report ? { onDownload: (p) => report(p.receivedBytes, p.totalBytes ?? null) } : {}) });
      return details(def.id);
    },

    update: async ({ id, patch }) => {
      const current = await registry.resolve(id);
      await assertNotTemplate(registry.home, current, 'edit');
      let changed: string[] = [];
      const otherMacs = new Set((await registry.definitions()).filter((def) => def.id !== current.id).flatMap((def) => def.nics.map((nic) => nic.mac.toLowerCase())));
      const updated = await registry.store.update(
        current.id,
        (fresh) => {
          const merged = applyMergePatch(fresh, patch);
          merged.value = fillNewDevices(merged.value, otherMacs);
          assertJsonBounds(merged.value, VM_DEFINITION_BOUNDS, `the definition of VM "${current.name}" after this edit`, 'Fields Virtdesk does not know are kept for other tools and count too: remove large ones by setting them to null in a patch.');
          changed = merged.changed;
          if (changed.some((path) => path === 'id' || path.startsWith('id.') || path === 'schemaVersion' || path === 'createdAt')) {
            throw new EngineError('invalid-argument', 'The id, createdAt and schemaVersion of a VM cannot be edited.');
          }
          return parseVmDefinition(merged.value);
        },
        {
          checkUnique: async (candidate, others) => assertValidVmDefinition(candidate, { others, host: await registry.hostLimits(candidate.machine) }),
        },
      );
      const running = (await manager.get(updated.id)).runtime.pid !== null;
      await applyLive(updated, changed, running);
      return details(updated.id);
    },

    delete: async ({ id, withStorage }) => {
      await manager.delete(id, { withStorage });
      return null;
    },
    start: async ({ id }) => {
      await manager.start(id);
      return null;
    },
    stop: async ({ id, force, timeoutSeconds }) => {
      await manager.stop(id, { force, ...(timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 }) });
      return null;
    },
    reboot: async ({ id }) => {
      await manager.reboot(id);
      return null;
    },
    reset: async ({ id }) => {
      await manager.reset(id);
      return null;
    },
    pause: async ({ id }) => {
      await manager.pause(id);
      return null;
    },
    resume: async ({ id }) => {
      await manager.resume(id);
      return null;
    },
    screenshot: async ({ id }) => ({ pngBase64: (await manager.screenshot(id)).toString('base64') }),
    sendKeys: async ({ id, keys, holdMs }) => {
      await manager.sendKeys(id, keys, holdMs);
      return null;
    },
    stats: async ({ id }) => {
      const def = await registry.resolve(id);
      return statsToWire(def.id, await manager.stats(def.id));
    },

    openConsole: async ({ id, kind }, { peer }: { peer: PeerInfo }) => {
      const { definition, runtime } = await manager.get(id);
      if (runtime.pid === null) {
        throw new EngineError('invalid-state', `VM "${definition.name}" is not running, so it has no console.`, { hint: 'Start it first.' });
      }
      const paths = registry.paths(definition);
      if (kind === 'serial') {
        if (!definition.serial) throw new EngineError('invalid-state', `VM "${definition.name}" has no serial console.`, { hint: 'Turn the serial console on in its hardware and restart it.' });
        // The supervisor's multiplexer lets any number of viewers share QEMU's one-client socket.
        const endpoint = await serialConsoleEndpoint(paths);
        return { ...consoles.open({ vmId: definition.id, kind, socketPath: endpoint.path }, peer), password: null };
      }
      if (!definition.display.vnc) throw new EngineError('invalid-state', `VM "${definition.name}" has no display.`, { hint: 'Turn the display on in its hardware and restart it.' });
      const password = oneTimePassword();
      await withCommandQmp(paths, definition.name, async (qmp) => {
        await qmp.setVncPassword(password);
        await qmp.expireVncPassword(`+${VNC_PASSWORD_SECONDS}`);
      });
      return { ...consoles.open({ vmId: definition.id, kind, socketPath: paths.vncSocket }, peer), password };
    },

    listSnapshots: async ({ id }) => (await listSnapshots(snapshotContext, await registry.resolve(id))).snapshots,
    createSnapshot: async ({ id, name, description, kind }, { signal }) => {
      const def = await registry.resolve(id);
      return createSnapshot(snapshotContext, def, { name, description, ...(kind ? { kind } : {}), signal, onProgress: (fraction) => manager.reportProgress(def.id, 'snapshot', fraction) });
    },
    revertSnapshot: async ({ id, snapshot, discardCurrentState, start }) => {
      const def = await registry.resolve(id);
      return revertSnapshot(snapshotContext, def, snapshot, { discardCurrentState, start }, lifecycle);
    },
    deleteSnapshot: async ({ id, snapshot }) => ({ notes: (await deleteSnapshot(snapshotContext, await registry.resolve(id), snapshot)).notes }),
    snapshotThumbnail: async ({ id, snapshot }) => {
      const png = await snapshotThumbnail(snapshotContext, await registry.resolve(id), snapshot);
      return { pngBase64: png === null ? null : png.toString('base64') };
    },
    clone: async ({ id, name, linked }, { signal }) => {
      const source = await registry.resolve(id);
      const result = await cloneVm(registry, source.id, name, { linked, signal, onProgress: (fraction) => manager.reportProgress(source.id, 'clone', fraction) });
      return { vm: await details(result.definition.id), warnings: result.warnings };
    },
    setTemplate: async ({ id, template }) => {
      const { definition, runtime } = await manager.get(id);
      if (template) {
        await markTemplate(registry.home, definition, { running: runtime.pid !== null, saved: runtime.savedAt !== null });
      } else if (await isTemplate(registry.home, definition.id)) {
        await unmarkTemplate(registry.home, definition, await registry.definitions(), registry.env);
      }
      return details(definition.id);
    },
    save: async ({ id }, { signal }) => {
      const def = await registry.resolve(id);
      const result = await manager.save(def.id, { signal, onProgress: (fraction) => manager.reportProgress(def.id, 'save', fraction) });
      return { sizeBytes: result.sizeBytes, durationMs: result.durationMs };
    },
    restore: async ({ id, discard }) => {
      const { definition, runtime } = await manager.get(id);
      if (!(await readSavedState(registry.home, definition.id))) {
        throw new EngineError('invalid-state', `VM "${definition.name}" has no saved state.`, { hint: 'Start it instead.' });
      }
      if (!discard) {
        await manager.start(definition.id);
        return null;
      }
      if (runtime.pid !== null) throw new EngineError('invalid-state', `VM "${definition.name}" is running; its saved state is stale and unused.`, { hint: 'Stop it first.' });
      await discardSavedState(registry.home, definition.id);
      return null;
    },
  };
}
