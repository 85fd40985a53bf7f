// Pack entries inflate through one reused zlib handle: the same bytes as zlib.inflateSync, the same failures,
// and a corrupt entry does not spoil the entries after it.
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateCounts, inflateKnownSize } from '../src/objects/pack/inflate.js';

const text = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join(''));

describe('inflateKnownSize', () => {
  it('gives the original bytes for sizes from 0 to 300 KB, text and random', () => {
    const before = { ...inflateCounts };
    for (const n of [0, 1, 2, 63, 64, 65, 4095, 4096, 4097, 20_000, 300_000]) {
      for (const data of [text(n), randomBytes(n)]) {
        const got = inflateKnownSize(deflateSync(data), n);
        expect(got.length).toBe(n);
        expect(got.equals(data)).toBe(true);
      }
    }
    // all through the reused handle: node's internals have the shape this code expects
    expect(inflateCounts.reused - before.reused).toBe(22);
    expect(inflateCounts.fallback).toBe(before.fallback);
  });

  it('throws on a wrong size, a truncated or a corrupt stream, and keeps working after', () => {
    const data = text(10_000);
    const z = deflateSync(data);
    expect(() => inflateKnownSize(z, 9_999)).toThrow();
    expect(() => inflateKnownSize(z, 10_001)).toThrow();
    expect(() => inflateKnownSize(z.subarray(0, z.length >> 1), 10_000)).toThrow();
    const bad = Buffer.from(z);
    bad.writeUInt8(bad.readUInt8(2) ^ 0xff, 2);
    bad.writeUInt8(bad.readUInt8(3) ^ 0xff, 3);
    expect(() => inflateKnownSize(bad, 10_000)).toThrow();
    expect(() => inflateKnownSize(Buffer.from('not zlib at all'), 10)).toThrow();
    // the next entries inflate as before
    for (let i = 0; i < 50; i++) {
      const d = randomBytes(1 + i * 97);
      expect(inflateKnownSize(deflateSync(d), d.length).equals(d)).toBe(true);
    }
  });

  it('ignores bytes after the stream (the next pack entry)', () => {
    const data = text(5_000);
    const z = Buffer.concat([deflateSync(data), randomBytes(64)]);
    expect(inflateKnownSize(z, 5_000).equals(data)).toBe(true);
  });
});
