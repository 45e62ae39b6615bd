/**
 * Windowing math for a virtualized list: items of known heights stacked from 0, a viewport of
 * `height` scrolled to `scrollTop`. Pure functions (no DOM), so they are unit-tested.
 */

/** Top offset of every item, plus the total height as the last entry (length = count + 1). */
export function offsetsOf(heights: readonly number[]): Float64Array {
  const offsets = new Float64Array(heights.length + 1);
  for (let i = 0; i < heights.length; i++) offsets[i + 1] = offsets[i]! + heights[i]!;
  return offsets;
}

export function totalHeight(offsets: Float64Array): number {
  return offsets[offsets.length - 1] ?? 0;
}

/** The item under `y` (clamped to the list): the last item whose top is at or above y. */
export function indexAt(offsets: Float64Array, y: number): number {
  const count = offsets.length - 1;
  if (count <= 0) return -1;
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (offsets[middle]! <= y) low = middle;
    else high = middle - 1;
  }
  return low;
}

export interface ItemRange {
  /** First item to render. */
  start: number;
  /** One past the last item to render. */
  end: number;
}

/**
 * The items that intersect the viewport, plus `overscan` items on each side so a small scroll
 * shows rows that are already laid out.
 */
export function visibleRange(offsets: Float64Array, scrollTop: number, height: number, overscan: number): ItemRange {
  const count = offsets.length - 1;
  if (count <= 0 || height <= 0) return { start: 0, end: Math.min(count, Math.max(0, overscan)) };
  const top = Math.max(0, Math.min(scrollTop, totalHeight(offsets) - height));
  const first = indexAt(offsets, top);
  // The last item whose top is above the viewport's bottom edge.
  const last = indexAt(offsets, top + height - 0.5);
  return { start: Math.max(0, first - overscan), end: Math.min(count, last + 1 + overscan) };
}

/**
 * The scrollTop that brings item `index` fully into view moving as little as possible (like
 * scrollIntoView({ block: 'nearest' })), or the current scrollTop when it already is. An item
 * taller than the viewport is aligned to its top.
 */
export function scrollTopToReveal(offsets: Float64Array, index: number, scrollTop: number, height: number): number {
  if (index < 0 || index >= offsets.length - 1) return scrollTop;
  const top = offsets[index]!;
  const bottom = offsets[index + 1]!;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + height) return Math.max(0, Math.min(top, bottom - height));
  return scrollTop;
}

/** Rows a PageUp/PageDown moves: one less than fit in the viewport, so one row stays in view; at least 1. */
export function rowsPerPage(height: number, rowHeight: number): number {
  if (rowHeight <= 0) return 1;
  return Math.max(1, Math.floor(height / rowHeight) - 1);
}
