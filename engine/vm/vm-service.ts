import type { ImplementationOf, PeerInfo } from '../api/contract';
import { EngineError, problemsOf } from '../model/errors';
import type { EventBus } from '../api/events';
import type { VirtdeskContract } from '../api/virtdesk-api';
import type { VmDetails, VmStats } from '../api/vm-api';
import type { ConsoleGateway } from '../console-gateway';
import { addedHostPaths, hostPathsOf } from '../model';
import { AllowedFolders } from '../storage/access/allowed-folders';
import { applyMergePatch } from './definitions/merge-patch';
import { cloneVm } from './ops/clone/clone-vm';
import { isTemplate, markTemplate, unmarkTemplate } from './ops/clone/template';
import { editVm } from './ops/edit-vm';
import { grantVncPassword } from './live/vnc-password';
import { readPendingRestart } from './runtime/pending-restart';
import type { VmManager, VmManagerEvent } from './manager';
import { progressReporter } from '../storage/storage-service';
import { previewVm } from './ops/create-vm';
import { discardSavedState, readSavedState } from './ops/save-restore/saved-state';
import { createSnapshot, deleteSnapshot, listSnapshots, revertSnapshot, snapshotThumbnail, type VmLifecycle } from './ops/snapshots';
import { serialConsoleEndpoint } from './supervision/serial-mux/serial-console';
import type { VmStatsSample } from './stats/collector';
import { StatsBatcher } from './stats/batch';

type VmImplementation = ImplementationOf<VirtdeskContract>['vms'];

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
        bus.emit('vm.state', { id: event.id, state: event.state, stateReason: event.stateReason, ...(event.stateSince === undefined ? {} : { stateSince: event.stateSince }) });
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

/** The vms service of the contract over the VM manager of this host. */
export function createVmService(options: { manager: VmManager; consoles: ConsoleGateway; bus?: EventBus<Record<string, unknown>>; access?: AllowedFolders }): VmImplementation {
  const { manager, consoles, bus } = options;
  const registry = manager.registry;
  const access = options.access ?? new AllowedFolders({ home: registry.home, env: registry.env });
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
      pendingRestart: running ? await readPendingRestart(registry.paths(definition)) : [],
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

    create: async ({ input, operationId }, { signal, peer }) => {
      await access.assertPeerMayUse(peer, hostPathsOf(input));
      const report = operationId === undefined || bus === undefined ? undefined : progressReporter(bus, operationId);
      const def = await manager.create(input, { signal, ...(report ? { onDownload: (p) => report(p.receivedBytes, p.totalBytes ?? null) } : {}) });
      return details(def.id);
    },

    update: async ({ id, patch }, { peer }) => {
      // Files the VM already uses stay usable; a limited session may add only files in allowed folders.
      const current = await registry.resolve(id);
      await access.assertPeerMayUse(peer, addedHostPaths(current, applyMergePatch(current, patch).value));
      const updated = await editVm(registry, id, patch, async (vmId) => (await manager.get(vmId)).runtime.pid !== null);
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
    stop: ({ id, force, waitSeconds, forceAfterSeconds }) =>
      manager.stop(id, { force, ...(waitSeconds === undefined ? {} : { waitMs: waitSeconds * 1000 }), ...(forceAfterSeconds === undefined ? {} : { forceAfterMs: forceAfterSeconds * 1000 }) }),
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
      const password = await grantVncPassword(paths, definition.name);
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
