// Reused memory for the delta targets a pack walk materializes (object-store.ts). Every target used to be a fresh
// buffer of its size, and fresh memory is dear on these machines: copying 1.44 GB into fresh 8 MB buffers took
// 1.84 s against 0.05 s into one reused buffer (first-touch page faults); a history of large files (40 releases of
// TypeScript: 1.45 GB of delta targets, 391 of them over 64 KiB) pays that on the thread that reads the pack.
// A buffer's memory comes back here only when every holder let go of it: the walk (its base cache, a base being
// applied) and the consumer the blob was yielded to, who says so with `release` once it will never read it again.
// A holder that never releases only loses the reuse: the buffer is then collected as usual (the counts are weak).

/**
 * Buffers below this size come from Buffer.allocUnsafe as before. Measured on the generated corpus (2 GB of blobs
 * under 64 KiB; its reading thread spent 2.0 s of 11.9 in the GC that so much fresh external memory set off),
 * alternating, medians of 3: 64 KiB 13.46 s, 16 KiB 11.91 s (peak RSS 363–377 → 376–382 MB), 8 KiB 11.33 s but
 * 389–409 MB (a quarter more capacity per fresh buffer, reuse up to twice the size). The real-code histories tie.
 */
export const MIN_POOLED = 16 << 10;

export interface TargetBufferStats {
  /** Pooled buffers handed out, and how many of them reused released memory. */
  taken: number;
  reused: number;
  /** Bytes of released memory kept for reuse, at most. */
  peakFreeBytes: number;
}

export class TargetBuffers {
  /** Holders of each pooled buffer's memory; absent: not pooled (too small), or released. */
  private readonly refs = new WeakMap<ArrayBuffer, number>();
  /** Released memory, by capacity ascending. */
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;
  readonly stats: TargetBufferStats = { taken: 0, reused: 0, peakFreeBytes: 0 };

  private readonly budget: number;
  private readonly minBytes: number;
  private readonly poison: boolean;

  /**
   * `budget`: bytes of released memory kept for reuse (past it, the largest go to the GC); default 96 MiB. `minBytes`:
   * smaller buffers are not pooled (default MIN_POOLED). `poison` (tests): fill released memory with zero bytes, so
   * that a blob read after its release reads as binary and a scan compared with a reference shows it.
   */
  constructor(opts: { budget?: number; minBytes?: number; poison?: boolean } = {}) {
    this.budget = opts.budget ?? 96 << 20;
    this.minBytes = opts.minBytes ?? MIN_POOLED;
    this.poison = opts.poison ?? false;
  }

  /**
   * A buffer of `size` bytes, held once (by the caller): the smallest released memory that fits when it is less
   * than twice the size, else fresh memory (a quarter more than asked, so the next release of that file fits).
   */
  take(size: number): Buffer {
    if (size < this.minBytes || size === 0) return Buffer.allocUnsafe(size);
    this.stats.taken++;
    let ab: ArrayBuffer | undefined;
    const i = this.firstFitting(size);
    if (i < this.free.length && this.free[i]!.byteLength < 2 * size) {
      ab = this.free.splice(i, 1)[0]!;
      this.freeBytes -= ab.byteLength;
      this.stats.reused++;
    } else ab = Buffer.allocUnsafeSlow(size + (size >>> 2)).buffer;
    this.refs.set(ab, 1);
    return Buffer.from(ab, 0, size);
  }

  /** Index of the first released buffer of at least `size` bytes (`free` is sorted by capacity), or its length. */
  private firstFitting(size: number): number {
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.free[mid]!.byteLength < size) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** One more holder of `b` (no effect on a buffer that is not pooled). */
  hold(b: Buffer): void {
    const ab = b.buffer as ArrayBuffer;
    const n = this.refs.get(ab);
    if (n !== undefined) this.refs.set(ab, n + 1);
  }

  /** A holder of `b` is done with it: its memory is reused once every holder is. */
  release(b: Buffer): void {
    const ab = b.buffer as ArrayBuffer;
    const n = this.refs.get(ab);
    if (n === undefined) return;
    if (n > 1) {
      this.refs.set(ab, n - 1);
      return;
    }
    this.refs.delete(ab);
    const cap = ab.byteLength;
    if (cap > this.budget) return;
    if (this.poison) new Uint8Array(ab).fill(0);
    this.free.splice(this.firstFitting(cap), 0, ab);
    this.freeBytes += cap;
    // over the budget: the largest go first
    while (this.freeBytes > this.budget) this.freeBytes -= this.free.pop()!.byteLength;
    this.stats.peakFreeBytes = Math.max(this.stats.peakFreeBytes, this.freeBytes);
  }
}
