// The scan pool's buffer shelf: exact size classes, reuse, and a byte budget that drops the least recently
// returned spares first.
import { describe, expect, test } from 'vitest';
import { BufferShelf } from '../src/scan/buffer-shelf.js';

describe('BufferShelf', () => {
  test('reuses a returned buffer of the same size, creates one of another size', () => {
    const shelf = new BufferShelf(1 << 20);
    const a = shelf.take(64 << 10);
    shelf.give(a);
    expect(shelf.spareBytes).toBe(64 << 10);
    expect(shelf.take(128 << 10)).not.toBe(a);
    expect(shelf.take(64 << 10)).toBe(a);
    expect(shelf.spareBytes).toBe(0);
    expect(shelf.stats).toEqual({ allocated: 2, allocatedBytes: (64 << 10) + (128 << 10) });
  });

  test('keeps spares within the budget, dropping the least recently returned first', () => {
    const shelf = new BufferShelf(256 << 10);
    const [a, b, c] = [shelf.take(128 << 10), shelf.take(128 << 10), shelf.take(128 << 10)];
    shelf.give(a);
    shelf.give(b);
    shelf.give(c); // over budget: a goes
    expect(shelf.spareBytes).toBe(256 << 10);
    const got = new Set([shelf.take(128 << 10), shelf.take(128 << 10)]);
    expect(got).toEqual(new Set([b, c]));
    expect(shelf.take(128 << 10)).not.toBe(a);
    // a buffer over the whole budget is never kept
    shelf.give(new SharedArrayBuffer(512 << 10));
    expect(shelf.spareBytes).toBe(0);
  });
});
