// The pack walk's delta-base cache (src/objects/pack/base-cache.ts): over its budget it drops the base the walk
// needs last (the walk's order is known), so interleaved delta chains do not re-read a base for every delta.
import { describe, expect, it } from 'vitest';
import { BaseCache, type BaseUsers } from '../src/objects/pack/base-cache.js';

/** Users of each base (positions of the blob deltas using it, ascending), as the pack layout builds them. */
function usersOf(n: number, uses: Record<number, number[]>): { refs: Uint32Array; users: BaseUsers } {
  const refs = new Uint32Array(n);
  const first = new Uint32Array(n + 1);
  for (let p = 0; p < n; p++) {
    refs[p] = uses[p]?.length ?? 0;
    first[p + 1] = first[p]! + refs[p]!;
  }
  const list = Uint32Array.from(Array.from({ length: n }, (_, p) => uses[p] ?? []).flat());
  return { refs, users: { first, list } };
}

const blob = (n: number) => Buffer.alloc(n, 0x61);

describe('BaseCache', () => {
  it('over its budget drops the base needed last (itself included), and follows the walk as it reads', () => {
    // bases 0, 1, 2, 3: used by the deltas at 10 and 30, at 5, at 20, at 3 and 40
    const { refs, users } = usersOf(50, { 0: [10, 30], 1: [5], 2: [20], 3: [3, 40] });
    const cache = new BaseCache(refs, 200, null, users);
    cache.put(0, blob(100));
    cache.put(1, blob(100));
    // base 2 is needed at 20, after 0 (10) and 1 (5): it is not kept
    cache.put(2, blob(100));
    expect([cache.get(0), cache.get(1), cache.get(2)].map(Boolean)).toEqual([true, true, false]);
    // base 3 is needed at 3: base 0 (next at 10) goes
    cache.put(3, blob(100));
    expect([cache.get(0), cache.get(1), cache.get(3)].map(Boolean)).toEqual([false, true, true]);
    // the delta at 3 is read: base 3's next use is 40 now, so putting 0 back (next at 10) drops 3
    cache.release(3);
    cache.put(0, blob(100));
    expect([cache.get(0), cache.get(1), cache.get(3)].map(Boolean)).toEqual([true, true, false]);
    expect(cache.size).toBe(200);
  });

  it('without users drops the oldest first, never the base just put', () => {
    const { refs } = usersOf(50, { 0: [10, 30], 1: [5], 2: [20] });
    const cache = new BaseCache(refs, 200);
    cache.put(0, blob(100));
    cache.put(1, blob(100));
    cache.put(2, blob(100));
    expect([cache.get(0), cache.get(1), cache.get(2)].map(Boolean)).toEqual([false, true, true]);
    // a base larger than the budget alone stays while it is the only one
    cache.put(0, blob(500));
    expect([cache.get(0), cache.get(1), cache.get(2)].map(Boolean)).toEqual([true, false, false]);
  });
});
