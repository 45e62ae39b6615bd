import { SvelteSet } from 'svelte/reactivity';
import { setOf } from './id-index';

export interface ClickModifiers {
  /** Ctrl (or ⌘): toggle one row. */
  toggle: boolean;
  /** Shift: extend from the anchor. */
  range: boolean;
}

/**
 * Which VMs are selected in the list, like a desktop file list: click selects one, Ctrl-click
 * toggles, Shift-click selects a range from the anchor, arrows move the focused row.
 * `order` is always the list as shown (filtered and sorted).
 */
export class VmSelection {
  readonly selected = new SvelteSet<string>();
  /** The row with keyboard focus (aria-activedescendant). */
  focused = $state<string | undefined>(undefined);
  /** Where Shift ranges start. */
  anchor = $state<string | undefined>(undefined);

  get ids(): string[] {
    return [...this.selected];
  }

  has(id: string): boolean {
    return this.selected.has(id);
  }

  only(id: string): void {
    this.selected.clear();
    this.selected.add(id);
    this.focused = id;
    this.anchor = id;
  }

  click(id: string, modifiers: ClickModifiers, order: readonly string[]): void {
    if (modifiers.range && this.anchor !== undefined && order.includes(this.anchor)) {
      const range = rangeBetween(order, this.anchor, id);
      if (!modifiers.toggle) this.selected.clear();
      for (const each of range) this.selected.add(each);
      this.focused = id;
      return;
    }
    if (modifiers.toggle) {
      if (this.selected.has(id)) this.selected.delete(id);
      else this.selected.add(id);
      this.focused = id;
      this.anchor = id;
      return;
    }
    this.only(id);
  }

  selectAll(order: readonly string[]): void {
    for (const id of order) this.selected.add(id);
  }

  clear(): void {
    this.selected.clear();
  }

  /** Arrow keys: move focus by `delta` rows (or to an end); Shift extends, Ctrl moves focus only. */
  move(delta: number | 'first' | 'last', order: readonly string[], modifiers: ClickModifiers): void {
    if (order.length === 0) return;
    const current = this.focused === undefined ? -1 : order.indexOf(this.focused);
    let index: number;
    if (delta === 'first') index = 0;
    else if (delta === 'last') index = order.length - 1;
    else if (current === -1) index = delta > 0 ? 0 : order.length - 1;
    else index = Math.min(order.length - 1, Math.max(0, current + delta));
    const id = order[index]!;
    if (modifiers.toggle && !modifiers.range) {
      this.focused = id;
      return;
    }
    this.click(id, { toggle: false, range: modifiers.range }, order);
  }

  /** Drops VMs that are gone or filtered out of view. */
  keepOnly(visible: readonly string[]): void {
    const shown = setOf(visible);
    const keep = (id: string) => shown.has(id);
    for (const id of [...this.selected]) if (!keep(id)) this.selected.delete(id);
    if (this.focused !== undefined && !keep(this.focused)) this.focused = undefined;
    if (this.anchor !== undefined && !keep(this.anchor)) this.anchor = undefined;
  }
}

function rangeBetween(order: readonly string[], from: string, to: string): string[] {
  const a = order.indexOf(from);
  const b = order.indexOf(to);
  if (a === -1 || b === -1) return [to];
  return order.slice(Math.min(a, b), Math.max(a, b) + 1);
}
