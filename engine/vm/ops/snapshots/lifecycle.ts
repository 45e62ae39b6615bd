import type { VmDefinition } from '../../../model';
import type { NetworkManager } from '../../../network/network-manager';
import { stopVm } from '../control';
import { VmRegistry } from '../../definitions/registry';
import { startVm } from '../start';
import type { StartResume } from '../start-resume';

/** Where snapshot operations run: the data folder, and how to stop and start the VM. */
export interface SnapshotContext {
  home: string;
  env: NodeJS.ProcessEnv;
  networks?: NetworkManager;
}

/**
 * How a revert stops and starts the VM. The CLI works on QEMU directly; the app goes through its
 * VmManager, so the VM's supervisor follows the new QEMU.
 */
export interface VmLifecycle {
  forceOff(def: VmDefinition): Promise<void>;
  start(def: VmDefinition, resume?: StartResume): Promise<void>;
}

/** Stop and start straight on QEMU (the CLI, tests). */
export function directLifecycle(ctx: SnapshotContext): VmLifecycle {
  const control = { home: ctx.home, env: ctx.env, ...(ctx.networks ? { networks: ctx.networks } : {}) };
  return {
    forceOff: async (def) => {
      await stopVm(def, control, { force: true });
    },
    start: async (def, resume) => {
      const others = await new VmRegistry(ctx.home, ctx.env).definitions();
      await startVm(def, { ...control, others, ...(resume ? { resume } : {}) });
    },
  };
}
