import type { VmSummary } from '../../../../engine/api/vm-api';
import { vmMatcher, type StateFilter } from './vms-match';
import type { VmSortKey, VmSortOrder } from './vms-sort';

export type { StateFilter } from './vms-match';

/** The list's search box, filters and sort order: text matches name, description, tags, OS and state. */
export class VmFilter {
  text = $state('');
  state = $state<StateFilter>('all');
  /** An OS id, '' for all, or '-' for VMs without one. */
  os = $state('');
  /** A tag (compared ignoring case) or '' for any. */
  tag = $state('');
  /** A view setting, not a filter: reset leaves it. */
  groupByTag = $state(false);
  /** A view setting too: the column the list is sorted by. */
  sort = $state<VmSortOrder>({ key: 'name', descending: false });

  get active(): boolean {
    return this.text.trim() !== '' || this.state !== 'all' || this.os !== '' || this.tag !== '';
  }

  reset(): void {
    this.text = '';
    this.state = 'all';
    this.os = '';
    this.tag = '';
  }

  /** Sorts by `key`; the column already sorted by flips direction, as a column header click does. */
  sortBy(key: VmSortKey): void {
    this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : false };
  }

  /** The current filters as one predicate (reading them makes the caller depend on them). */
  matcher(): (vm: VmSummary) => boolean {
    return vmMatcher({ text: this.text, state: this.state, os: this.os, tag: this.tag });
  }

  matches(vm: VmSummary): boolean {
    return this.matcher()(vm);
  }
}
