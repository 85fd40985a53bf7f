// In-memory VerificationCache: one process, entries expire by the injected clock.
import type { Verification } from '../core/model.js';
import type { Clock, VerificationCache } from '../core/ports.js';
import { systemClock } from '../core/ports.js';

export type { VerificationCache } from '../core/ports.js';

export class MemoryVerificationCache implements VerificationCache {
  private readonly entries = new Map<string, { value: Verification; expires: number }>();
  constructor(private readonly clock: Clock = systemClock) {}

  get(fingerprint: string): Verification | undefined {
    const hit = this.entries.get(fingerprint);
    if (!hit) return undefined;
    if (hit.expires <= this.clock.now().getTime()) {
      this.entries.delete(fingerprint);
      return undefined;
    }
    return hit.value;
  }

  set(fingerprint: string, verification: Verification, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.set(fingerprint, { value: verification, expires: this.clock.now().getTime() + ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }
}
