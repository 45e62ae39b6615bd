import { describe, expect, it } from 'vitest';
import { indexAt, offsetsOf, rowsPerPage, scrollTopToReveal, totalHeight, visibleRange } from '../../../renderer/src/components/machines/list-window';

const rows = (count: number, height = 50) => offsetsOf(Array.from({ length: count }, () => height));

describe('offsetsOf', () => {
  it('stacks items from 0 and ends with the total height', () => {
    expect([...offsetsOf([10, 20, 30])]).toEqual([0, 10, 30, 60]);
    expect(totalHeight(offsetsOf([10, 20, 30]))).toBe(60);
    expect(totalHeight(offsetsOf([]))).toBe(0);
  });
});

describe('indexAt', () => {
  const offsets = offsetsOf([10, 20, 30]);
  it('finds the item under a position, edges belonging to the item below', () => {
    expect(indexAt(offsets, 0)).toBe(0);
    expect(indexAt(offsets, 9.9)).toBe(0);
    expect(indexAt(offsets, 10)).toBe(1);
    expect(indexAt(offsets, 29)).toBe(1);
    expect(indexAt(offsets, 30)).toBe(2);
  });
  it('clamps positions outside the list', () => {
    expect(indexAt(offsets, -5)).toBe(0);
    expect(indexAt(offsets, 1000)).toBe(2);
    expect(indexAt(offsetsOf([]), 0)).toBe(-1);
  });
});

describe('visibleRange', () => {
  it('covers exactly the rows in view, plus overscan on each side', () => {
    // 500 rows of 50 px, a 600 px view at 1000 px: rows 20…31 are in view.
    expect(visibleRange(rows(500), 1000, 600, 0)).toEqual({ start: 20, end: 32 });
    expect(visibleRange(rows(500), 1000, 600, 3)).toEqual({ start: 17, end: 35 });
  });
  it('includes a row cut by either edge', () => {
    expect(visibleRange(rows(500), 1010, 600, 0)).toEqual({ start: 20, end: 33 });
  });
  it('stops at both ends of the list', () => {
    expect(visibleRange(rows(500), 0, 600, 4)).toEqual({ start: 0, end: 16 });
    expect(visibleRange(rows(500), 500 * 50 - 600, 600, 4)).toEqual({ start: 484, end: 500 });
    // Scrolled beyond the end (the list just got shorter): the last screenful, not nothing.
    expect(visibleRange(rows(30), 5000, 600, 0)).toEqual({ start: 18, end: 30 });
  });
  it('renders every row of a list shorter than the view', () => {
    expect(visibleRange(rows(3), 0, 600, 4)).toEqual({ start: 0, end: 3 });
  });
  it('handles mixed heights (group headings)', () => {
    const offsets = offsetsOf([30, 50, 50, 30, 50]);
    expect(visibleRange(offsets, 80, 60, 0)).toEqual({ start: 2, end: 4 });
    expect(visibleRange(offsets, 70, 70, 0)).toEqual({ start: 1, end: 4 });
  });
  it('renders only overscan rows before the view has a size, and nothing for an empty list', () => {
    expect(visibleRange(rows(500), 0, 0, 4)).toEqual({ start: 0, end: 4 });
    expect(visibleRange(rows(0), 0, 600, 4)).toEqual({ start: 0, end: 0 });
  });
});

describe('scrollTopToReveal', () => {
  const offsets = rows(500);
  it('leaves the scroll alone when the row is fully in view', () => {
    expect(scrollTopToReveal(offsets, 22, 1000, 600)).toBe(1000);
  });
  it('scrolls up to put a row above the view at the top', () => {
    expect(scrollTopToReveal(offsets, 5, 1000, 600)).toBe(250);
    // Partly hidden above.
    expect(scrollTopToReveal(offsets, 19, 1000, 600)).toBe(950);
  });
  it('scrolls down to put a row below the view at the bottom', () => {
    expect(scrollTopToReveal(offsets, 499, 0, 600)).toBe(500 * 50 - 600);
    // Partly hidden below: the smallest move.
    expect(scrollTopToReveal(offsets, 31, 1000, 590)).toBe(1010);
  });
  it('aligns a row taller than the view to its top', () => {
    expect(scrollTopToReveal(offsetsOf([50, 900, 50]), 1, 0, 600)).toBe(50);
  });
  it('ignores indices outside the list', () => {
    expect(scrollTopToReveal(offsets, -1, 300, 600)).toBe(300);
    expect(scrollTopToReveal(offsets, 500, 300, 600)).toBe(300);
  });
});

describe('rowsPerPage', () => {
  it('moves one row less than fit in the view, at least one', () => {
    expect(rowsPerPage(600, 50)).toBe(11);
    expect(rowsPerPage(620, 50)).toBe(11);
    expect(rowsPerPage(40, 50)).toBe(1);
    expect(rowsPerPage(600, 0)).toBe(1);
  });
});
