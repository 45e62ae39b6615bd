import type { VmSnapshot } from '../../../../../engine/api/vm-api';

/** Words for a snapshot's fields, shared by the tree, the details pane and the dialogs. */
export function kindLabel(kind: VmSnapshot['kind']): string {
  return kind === 'with-memory' ? 'With memory' : 'Disk only';
}

export function guestStateLabel(state: VmSnapshot['vmState']): string {
  return state === 'running' ? 'Guest running' : state === 'paused' ? 'Guest paused' : 'Shut off';
}

/** What reverting to it brings back, in one line. */
export function kindExplanation(snapshot: Pick<VmSnapshot, 'kind' | 'vmState'>): string {
  if (snapshot.kind === 'with-memory') return `Memory and devices were saved too: reverting resumes the guest ${snapshot.vmState === 'paused' ? 'paused' : 'running'}, exactly where it was.`;
  if (snapshot.vmState === 'stopped') return 'Taken while the machine was shut off: reverting puts its disks back.';
  return 'Disks only, taken while the guest ran: crash-consistent, as if the power had been cut at that instant. Reverting boots from them.';
}

/** The guest state in a tree row, after the kind: "running", "paused", "shut off". */
export function guestStateShort(state: VmSnapshot['vmState']): string {
  return state === 'stopped' ? 'shut off' : state;
}

/** "Nov 21, 11:29 PM" this year, "Nov 21, 2025, 11:29 PM" before: short enough for a tree row. */
export function formatShortDate(iso: string, now = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleString(undefined, { month: 'short', day: 'numeric', ...(sameYear ? {} : { year: 'numeric' }), hour: 'numeric', minute: '2-digit' });
}
