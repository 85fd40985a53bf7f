// The delta-base cache of a pack walk (object-store.ts): inflated bases kept while blob deltas still need them
// (reference-counted), within a byte budget; evicted bases are re-read on demand.
import type { TargetBuffers } from './target-buffers.js';

/**
 * Which blob deltas use each entry as their base, in the order the walk reads them: entry `pos`'s users are
 * `list[first[pos]] … list[first[pos + 1] - 1]`, ascending (pack positions).
 */
export interface BaseUsers {
  first: Uint32Array;
  list: Uint32Array;
}

/** Past this many entries an eviction takes the oldest instead of searching them all for the farthest next use. */
const SEARCHED_ENTRIES = 1024;

export class BaseCache {
  private readonly entries = new Map<number, Buffer>();
  private bytes = 0;

  /**
   * `refs[pos]`: how many blob deltas not yet read use the entry at `pos` as their base. `targets`: the walk's reused
   * memory, which the cache holds while it keeps a buffer. `users`: who those deltas are (BaseUsers), so that an
   * eviction can take the base needed last; without it, the oldest.
   */
  constructor(
    private readonly refs: Uint32Array,
    private readonly limit: number,
    private readonly targets: TargetBuffers | null = null,
    private readonly users: BaseUsers | null = null,
  ) {}

  get(pos: number): Buffer | undefined {
    return this.entries.get(pos);
  }

  /** Bytes held. */
  get size(): number {
    return this.bytes;
  }

  /**
   * Keeps `data` while a delta still needs it. Over the budget, the base whose next use lies farthest goes first
   * (`data` itself, if that is it): the walk's order is known, and when several files' delta chains interleave
   * (every release of each in turn), the oldest base is the next one needed, so evicting it re-read a base for nearly
   * every delta. Without users, or past SEARCHED_ENTRIES, the oldest goes first, but never `data`.
   */
  put(pos: number, data: Buffer): void {
    if (this.refs[pos] === 0 || this.entries.has(pos)) return;
    this.entries.set(pos, data);
    this.targets?.hold(data);
    this.bytes += data.length;
    while (this.bytes > this.limit) {
      const victim = this.users && this.entries.size <= SEARCHED_ENTRIES ? this.farthest() : this.oldest(pos);
      if (victim === -1) break;
      this.drop(victim);
    }
  }

  /** One delta of the base at `pos` has been read: the base goes when none is left. */
  release(pos: number): void {
    if (this.refs[pos]! > 0 && --this.refs[pos]! === 0 && this.entries.has(pos)) this.drop(pos);
  }

  /** The position of the next blob delta the walk reads that uses `pos` (its users not yet read come in order). */
  private nextUse(pos: number): number {
    const left = this.refs[pos]!;
    return left === 0 ? Number.POSITIVE_INFINITY : this.users!.list[this.users!.first[pos + 1]! - left]!;
  }

  private farthest(): number {
    let victim = -1;
    let next = -1;
    for (const k of this.entries.keys()) {
      const n = this.nextUse(k);
      if (n > next) {
        next = n;
        victim = k;
      }
    }
    return victim;
  }

  private oldest(keep: number): number {
    for (const k of this.entries.keys()) return k === keep ? -1 : k;
    return -1;
  }

  private drop(pos: number): void {
    const v = this.entries.get(pos)!;
    this.entries.delete(pos);
    this.bytes -= v.length;
    this.targets?.release(v);
  }
}
