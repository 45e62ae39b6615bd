import { tagKey, type VmStateName, type VmSummary } from '../../../../engine/api/vm-api';

/** `active` = anything not stopped or crashed. */
export type StateFilter = 'all' | 'active' | VmStateName;

export interface VmFilterValues {
  /** Words that must all appear in a VM's name, description, tags, OS, state or state reason. */
  text: string;
  state: StateFilter;
  /** An OS id, '' for all, or '-' for VMs without one. */
  os: string;
  /** A tag (compared ignoring case) or '' for any. */
  tag: string;
}

/**
 * The text a search looks in, per summary object. Summaries are replaced, never changed, when a
 * VM changes, so the object is a safe cache key and a list refresh reuses nothing stale.
 */
const haystacks = new WeakMap<VmSummary, string>();
function haystackOf(vm: VmSummary): string {
  let haystack = haystacks.get(vm);
  if (haystack === undefined) {
    haystack = [vm.name, vm.description, ...vm.tags, vm.osId ?? '', vm.state, vm.stateReason ?? ''].join(' ').toLowerCase();
    haystacks.set(vm, haystack);
  }
  return haystack;
}

/** The filters as one predicate: the search words are split once, not once per VM. */
export function vmMatcher({ text, state, os, tag }: VmFilterValues): (vm: VmSummary) => boolean {
  const wantedTag = tag === '' ? '' : tagKey(tag);
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  return (vm) => {
    if (state === 'active' && (vm.state === 'stopped' || vm.state === 'crashed')) return false;
    if (state !== 'all' && state !== 'active' && vm.state !== state) return false;
    if (os === '-' && vm.osId !== null) return false;
    if (os !== '' && os !== '-' && vm.osId !== os) return false;
    if (wantedTag !== '' && !vm.tags.some((each) => tagKey(each) === wantedTag)) return false;
    if (words.length === 0) return true;
    const haystack = haystackOf(vm);
    return words.every((word) => haystack.includes(word));
  };
}
