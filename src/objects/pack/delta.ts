// Git delta application (OFS_DELTA / REF_DELTA payloads), also reporting which target bytes were copied from the base.
import { kMaxLength } from 'node:buffer';
import { PackFormatError } from './errors.js';

/**
 * Copy ranges of a target, after merging copies that continue each other in the base (git splits copies at
 * 64 KiB). Flat triples: [targetStart, targetEnd, baseStart, ...]. Target bytes outside these were inserted.
 */
export type CopyRanges = Float64Array | number[];

function varint(d: Buffer, pos: number): [number, number] {
  let v = 0;
  let shift = 1;
  let b: number;
  do {
    if (pos >= d.length) throw new PackFormatError('delta: truncated size header');
    b = d[pos++]!;
    v += (b & 0x7f) * shift;
    shift *= 128;
  } while (b & 0x80);
  return [v, pos];
}

/** Sizes from a delta's header without applying it. */
export function deltaSizes(delta: Buffer): { baseSize: number; targetSize: number } {
  const [baseSize, p] = varint(delta, 0);
  const [targetSize] = varint(delta, p);
  return { baseSize, targetSize };
}

export interface Applied {
  data: Buffer;
  copies: Float64Array;
}

/** Most target bytes one delta byte can produce: a 4-byte copy instruction (24-bit size) copies 16 MiB. */
const MAX_BYTES_PER_DELTA_BYTE = 0x400000;

/**
 * Below this many bytes a copy is a loop: Buffer#copy makes a Uint8Array view of its source for every call (Node 20
 * `_copyActual`), and a delta between two releases of a large file is mostly short copies and inserts (a
 * TypeScript history applies ~2 million), where those views cost more than the bytes and feed the GC.
 */
const LOOP_COPY = 64;

function copyBytes(from: Buffer, at: number, to: Buffer, o: number, n: number): void {
  if (n < LOOP_COPY) for (let k = 0; k < n; k++) to[o + k] = from[at + k]!;
  else from.copy(to, o, at, at + n);
}

/** `alloc`: where the target's memory comes from (a pack walk reuses it: target-buffers.ts). */
export function applyDelta(base: Buffer, delta: Buffer, wantCopies = false, alloc: (size: number) => Buffer = (n) => Buffer.allocUnsafe(n)): Applied {
  let [baseSize, pos] = varint(delta, 0);
  if (baseSize !== base.length) throw new PackFormatError(`delta: base size ${baseSize} ≠ actual ${base.length}`);
  let targetSize: number;
  [targetSize, pos] = varint(delta, pos);
  // a size no instruction stream of this length can produce is corrupt: never allocate it
  if (targetSize > (delta.length - pos) * MAX_BYTES_PER_DELTA_BYTE || targetSize > kMaxLength) {
    throw new PackFormatError(`delta: target size ${targetSize} is impossible for ${delta.length - pos} bytes of instructions`);
  }
  const out = alloc(targetSize);
  // a typed array grown by doubling: pushing millions of numbers onto JS arrays (a TypeScript history's deltas)
  // cost ~70 ns each on the reading thread
  let copies = new Float64Array(wantCopies ? 96 : 0);
  let nc = 0;
  let o = 0;
  const n = delta.length;
  while (pos < n) {
    const cmd = delta[pos++]!;
    if (cmd & 0x80) {
      let off = 0;
      let size = 0;
      if (cmd & 0x01) off = delta[pos++]!;
      if (cmd & 0x02) off |= delta[pos++]! << 8;
      if (cmd & 0x04) off |= delta[pos++]! << 16;
      if (cmd & 0x08) off = (off | (delta[pos++]! << 24)) >>> 0;
      if (cmd & 0x10) size = delta[pos++]!;
      if (cmd & 0x20) size |= delta[pos++]! << 8;
      if (cmd & 0x40) size |= delta[pos++]! << 16;
      if (size === 0) size = 0x10000;
      if (pos > n) throw new PackFormatError('delta: truncated copy instruction');
      if (off + size > base.length || o + size > targetSize) throw new PackFormatError('delta: copy out of bounds');
      copyBytes(base, off, out, o, size);
      if (wantCopies) {
        // merge with the previous copy when it continues it in both base and target
        if (nc > 0 && copies[nc - 2] === o && copies[nc - 1]! + (copies[nc - 2]! - copies[nc - 3]!) === off) copies[nc - 2] = o + size;
        else {
          if (nc + 3 > copies.length) {
            const grown = new Float64Array(2 * copies.length);
            grown.set(copies);
            copies = grown;
          }
          copies[nc++] = o;
          copies[nc++] = o + size;
          copies[nc++] = off;
        }
      }
      o += size;
    } else if (cmd !== 0) {
      if (pos + cmd > n || o + cmd > targetSize) throw new PackFormatError('delta: insert out of bounds');
      copyBytes(delta, pos, out, o, cmd);
      pos += cmd;
      o += cmd;
    } else throw new PackFormatError('delta: reserved opcode 0');
  }
  if (o !== targetSize) throw new PackFormatError(`delta: produced ${o} bytes, header says ${targetSize}`);
  return { data: out, copies: copies.subarray(0, nc) };
}
