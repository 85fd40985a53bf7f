// Reusable shared-memory batch buffers of the scan pool (pool.ts), by size class, within a byte budget. Reuse is
// what bounds memory on histories of large files: a SharedArrayBuffer dropped after one batch is freed only when
// both the reading thread and the worker have collected their handles, and a worker's small heap collects them
// late; on 40 versions of TypeScript (1,006 blobs, 1.5 GB, most of several MB) a fresh buffer per large blob took
// the scan from 285 MB (one thread) to 727 MB peak RSS with one worker; reused, 381 MB.

export interface ShelfStats {
  /** Buffers created (not taken from the shelf), and their bytes. */
  allocated: number;
  allocatedBytes: number;
}

export class BufferShelf {
  /** Spare buffers, least recently returned first (Map order), keyed by themselves. */
  private readonly spare = new Map<SharedArrayBuffer, number>();
  private bytes = 0;
  readonly stats: ShelfStats = { allocated: 0, allocatedBytes: 0 };

  /** `budget`: bytes of spare buffers kept at most; the least recently returned go first. */
  constructor(private readonly budget: number) {}

  /** A buffer of exactly `size` bytes (sizes are powers of two, protocol.ts bufferSize): a spare one when there is one. */
  take(size: number): SharedArrayBuffer {
    for (const buffer of this.spare.keys()) {
      if (buffer.byteLength !== size) continue;
      this.spare.delete(buffer);
      this.bytes -= size;
      return buffer;
    }
    this.stats.allocated++;
    this.stats.allocatedBytes += size;
    return new SharedArrayBuffer(size);
  }

  /** Keeps a buffer whose batch is done (nobody reads it any more) for reuse, dropping older spares to fit. */
  give(buffer: SharedArrayBuffer): void {
    const size = buffer.byteLength;
    if (size > this.budget) return;
    for (const old of this.spare.keys()) {
      if (this.bytes + size <= this.budget) break;
      this.spare.delete(old);
      this.bytes -= old.byteLength;
    }
    this.spare.set(buffer, size);
    this.bytes += size;
  }

  /** Bytes of spare buffers held. */
  get spareBytes(): number {
    return this.bytes;
  }
}
