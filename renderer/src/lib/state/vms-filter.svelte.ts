import { tagKey, type VmStateName, type VmSummary } from '../../../../engine/api/vm-api';

/** `active` = anything not stopped or crashed. */
export type StateFilter = 'all' | 'active' | VmStateName;

/** The list's search box and filters: text matches name, description, tags, OS and state. */
export class VmFilter {
  text = $state('');
  state = $state<StateFilter>('all');
  /** An OS id, '' for all, or '-' for VMs without one. */
  os = $state('');
  /** A tag (compared ignoring case) or '' for any. */
  tag = $state('');
  /** A view setting, not a filter: reset leaves it. */
  groupByTag = $state(false);

  get active(): boolean {
    return this.text.trim() !== '' || this.state !== 'all' || this.os !== '' || this.tag !== '';
  }

  reset(): void {
    this.text = '';
    this.state = 'all';
    this.os = '';
    this.tag = '';
  }

  matches(vm: VmSummary): boolean {
    if (this.state === 'active' && (vm.state === 'stopped' || vm.state === 'crashed')) return false;
    if (this.state !== 'all' && this.state !== 'active' && vm.state !== this.state) return false;
    if (this.os === '-' && vm.osId !== null) return false;
    if (this.os !== '' && this.os !== '-' && vm.osId !== this.os) return false;
    if (this.tag !== '' && !vm.tags.some((tag) => tagKey(tag) === tagKey(this.tag))) return false;
    const words = this.text.toLowerCase().split(/\s+/).filter(Boolean);
    const haystack = [vm.name, vm.description, ...vm.tags, vm.osId ?? '', vm.state, vm.stateReason ?? ''].join(' ').toLowerCase();
    return words.every((word) => haystack.includes(word));
  }
}
