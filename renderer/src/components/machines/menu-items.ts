import type { VmSummary } from '../../../../engine/api/vm-api';
import { VM_ACTIONS, type VmAction, type VmActions } from '../../lib/state/vms-actions.svelte';
import type { MenuItem } from '../common/menu-item';

/** Lifecycle actions in menu order; separators group running-state changes and the dangerous ones. */
const MENU_ORDER: readonly { action: VmAction; separatorBefore?: boolean }[] = [
  { action: 'start', separatorBefore: true },
  { action: 'pause' },
  { action: 'resume' },
  { action: 'shutdown' },
  { action: 'reboot' },
  { action: 'reset', separatorBefore: true },
  { action: 'force-off' },
  { action: 'delete', separatorBefore: true },
];

/** The context menu of the selected VMs: an action is enabled when it applies to at least one of them. */
export function vmMenuItems(vms: readonly VmSummary[], actions: VmActions): MenuItem[] {
  const items: MenuItem[] = [{ id: 'open', label: vms.length > 1 ? 'Open first' : 'Open', shortcut: 'Enter', disabled: vms.length === 0 }];
  for (const { action, separatorBefore } of MENU_ORDER) {
    const info = VM_ACTIONS[action];
    const applicable = actions.applicable(action, vms).length;
    // Pause and Resume share a slot: show the one that applies.
    if (action === 'pause' && applicable === 0 && actions.applicable('resume', vms).length > 0) continue;
    if (action === 'resume' && applicable === 0) continue;
    const count = vms.length > 1 && applicable > 0 ? ` (${applicable})` : '';
    items.push({
      id: action,
      label: `${info.label}${count}`,
      disabled: applicable === 0,
      ...(info.shortcut ? { shortcut: info.shortcut } : {}),
      ...(info.danger ? { danger: true } : {}),
      ...(separatorBefore ? { separatorBefore: true } : {}),
    });
  }
  return items;
}
