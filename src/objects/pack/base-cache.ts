// The delta-base cache of a pack walk (object-store.ts): inflated bases kept while blob deltas still need them
// (reference-counted), within a byte budget; evicted bases are re-read on demand.
import type { TargetBuffers } from './target-buffers.js';

export class BaseCache {
  private readonly entries = new Map<number, Buffer>();
  private bytes = 0;

  /**
   * `refs[pos]`: how many blob deltas not yet read use the entry at `pos` as their base. `targets`: the walk's reused
   * memory, which the cache holds while it keeps a buffer.
   */
  constructor(
    private readonly refs: Uint32Array,
    private readonly limit: number,
    private readonly targets: TargetBuffers | null = null,
  ) {}

  get(pos: number): Buffer | undefined {
    return this.entries.get(pos);
  }

  /** Keeps `data` while a delta still needs it; over the budget, the oldest go first (in pack order, the least likely to be needed soon). */
  put(pos: number, data: Buffer): void {
    if (this.refs[pos] === 0 || this.entries.has(pos)) return;
    this.entries.set(pos, data);
    this.targets?.hold(data);
    this.bytes += data.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.limit || k === pos) break;
      this.entries.delete(k);
      this.bytes -= v.length;
      this.targets?.release(v);
    }
  }

  /** One delta of the base at `pos` has been read: the base goes when none is left. */
  release(pos: number): void {
    if (this.refs[pos]! > 0 && --this.refs[pos]! === 0) {
      const v = this.entries.get(pos);
      if (v) {
        this.entries.delete(pos);
        this.bytes -= v.length;
        this.targets?.release(v);
      }
    }
  }
}
