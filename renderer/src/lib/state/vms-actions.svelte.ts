import { SvelteMap } from 'svelte/reactivity';
import type { Preferences } from '../../../../engine/api/preferences-api';
import type { VmStateName, VmSummary } from '../../../../engine/api/vm-api';
import type { VirtdeskClient } from '../api/client';
import { toasts } from './toasts.svelte';

/** What can be done to a VM from the list, the details header and the context menu. */
export type VmAction = 'start' | 'pause' | 'resume' | 'shutdown' | 'reboot' | 'reset' | 'force-off' | 'delete';

export interface VmActionInfo {
  action: VmAction;
  label: string;
  /** Present participle for progress ("Starting web1…"). */
  doing: string;
  /** States the action makes sense in. */
  allowedIn: readonly VmStateName[];
  /** Shown in menus and exposed through aria-keyshortcuts. */
  shortcut?: string;
  danger?: boolean;
}

export const VM_ACTIONS: Record<VmAction, VmActionInfo> = {
  start: { action: 'start', label: 'Run', doing: 'Starting', allowedIn: ['stopped', 'crashed'] },
  pause: { action: 'pause', label: 'Pause', doing: 'Pausing', allowedIn: ['running'] },
  resume: { action: 'resume', label: 'Resume', doing: 'Resuming', allowedIn: ['paused'] },
  shutdown: { action: 'shutdown', label: 'Shut down', doing: 'Shutting down', allowedIn: ['running'] },
  reboot: { action: 'reboot', label: 'Reboot', doing: 'Rebooting', allowedIn: ['running'] },
  reset: { action: 'reset', label: 'Force reset', doing: 'Resetting', allowedIn: ['running', 'paused'], danger: true },
  'force-off': { action: 'force-off', label: 'Force off', doing: 'Forcing off', allowedIn: ['starting', 'running', 'paused', 'shutting-down'], danger: true },
  delete: { action: 'delete', label: 'Delete…', doing: 'Deleting', allowedIn: ['stopped', 'crashed'], shortcut: 'Delete', danger: true },
};

export function actionAllowed(action: VmAction, state: VmStateName): boolean {
  return VM_ACTIONS[action].allowedIn.includes(state);
}

/** Confirmations the page shows as dialogs before acting. */
export type PendingConfirm = { kind: 'force-off'; vms: VmSummary[] } | { kind: 'reset'; vms: VmSummary[] } | { kind: 'delete'; vms: VmSummary[] };

/** How long a shutdown runs before the list offers Force off next to it. */
export const OFFER_FORCE_OFF_AFTER_MS = 20_000;

/**
 * Runs VM actions for one or many VMs (bulk start/stop), asks for confirmation when the user's
 * preferences say so, remembers which VM is busy with what, and reports failures as toasts.
 */
export class VmActions {
  readonly busy = new SvelteMap<string, VmAction>();
  pendingConfirm = $state<PendingConfirm | undefined>(undefined);
  preferences = $state<Preferences | undefined>(undefined);
  readonly #client: VirtdeskClient;

  constructor(client: VirtdeskClient) {
    this.#client = client;
    client.on('preferences.changed', (preferences) => (this.preferences = preferences));
    client.api.preferences
      .get({})
      .then((preferences) => (this.preferences = preferences))
      .catch((error: unknown) => toasts.error('Reading preferences', error));
  }

  /** VMs among `vms` the action applies to in their current state. */
  applicable(action: VmAction, vms: readonly VmSummary[]): VmSummary[] {
    return vms.filter((vm) => actionAllowed(action, vm.state) && !this.busy.has(vm.id));
  }

  /** Entry point of buttons, menus and keys: confirms first where the preferences ask for it. */
  request(action: VmAction, vms: readonly VmSummary[]): void {
    const targets = this.applicable(action, vms);
    if (targets.length === 0) return;
    // Until preferences load, confirm: asking once too often is better than losing a VM's work.
    const confirmForceOff = this.preferences?.confirmForceOff ?? true;
    const confirmDelete = this.preferences?.confirmDelete ?? true;
    if (action === 'delete') {
      // Without the dialog nobody chose to delete disk images, so they are kept.
      if (confirmDelete) this.pendingConfirm = { kind: 'delete', vms: targets };
      else void this.run('delete', targets, { withStorage: false });
      return;
    }
    if ((action === 'force-off' || action === 'reset') && confirmForceOff) {
      this.pendingConfirm = { kind: action, vms: targets };
      return;
    }
    void this.run(action, targets);
  }

  cancelConfirm(): void {
    this.pendingConfirm = undefined;
  }

  /** Runs without asking; used by confirmations and by `request`. Resolves when every call has answered. */
  async run(action: VmAction, vms: readonly VmSummary[], options: { withStorage?: boolean } = {}): Promise<boolean> {
    this.pendingConfirm = undefined;
    const results = await Promise.all(vms.map((vm) => this.#runOne(action, vm, options)));
    return results.every(Boolean);
  }

  async #runOne(action: VmAction, vm: VmSummary, options: { withStorage?: boolean }): Promise<boolean> {
    if (this.busy.has(vm.id)) return false;
    this.busy.set(vm.id, action);
    const api = this.#client.api.vms;
    const id = vm.id;
    try {
      switch (action) {
        case 'start':
          await api.start({ id });
          break;
        case 'pause':
          await api.pause({ id });
          break;
        case 'resume':
          await api.resume({ id });
          break;
        case 'shutdown':
          {
            // Answers once the guest is asked; the VM then reads "Shutting down" until it powers off. Never forced unless the user chose so.
            const forceAfterSeconds = this.preferences?.forceOffAfterSeconds ?? null;
            await api.stop({ id, force: false, ...(forceAfterSeconds === null ? {} : { forceAfterSeconds }) });
          }
          break;
        case 'reboot':
          await api.reboot({ id });
          break;
        case 'reset':
          await api.reset({ id });
          break;
        case 'force-off':
          await api.stop({ id, force: true });
          break;
        case 'delete':
          await api.delete({ id, withStorage: options.withStorage ?? false });
          toasts.success(options.withStorage ? `Deleted ${vm.name} and its disk images` : `Deleted ${vm.name}; its disk images were kept`);
          break;
      }
      return true;
    } catch (error) {
      toasts.error(`${VM_ACTIONS[action].doing} ${vm.name}`, error);
      return false;
    } finally {
      this.busy.delete(vm.id);
    }
  }
}

const actionsByClient = new WeakMap<VirtdeskClient, VmActions>();

export function vmActionsFor(client: VirtdeskClient): VmActions {
  let actions = actionsByClient.get(client);
  if (!actions) actionsByClient.set(client, (actions = new VmActions(client)));
  return actions;
}
