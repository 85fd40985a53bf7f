// Parser for git pack index files (.idx version 2): oid ↔ offset, including the 64-bit offset table.
import { createHash } from 'node:crypto';
import { InternalError } from '../../core/errors.js';
import { PackFormatError } from './errors.js';

export interface PackIndex {
  readonly count: number;
  readonly hashLength: number;
  /** Oids back to back (count × hashLength bytes), sorted. */
  readonly oids: Buffer;
  /** Object offsets in the pack, in oid order. Numbers: packs over 4 GiB need 64-bit offsets (exact below 2^53). */
  readonly offsets: Float64Array;
  /** CRC32 of each object's packed bytes (header and zlib data), in oid order, big-endian uint32 each. */
  readonly crcs: Buffer;
  /** Trailing checksum of the pack this index describes (hex). */
  readonly packChecksum: string;
}

const MAGIC = 0xff744f63; // "\377tOc"

export function parsePackIndex(buf: Buffer, hashLength = 20, name = 'pack index'): PackIndex {
  if (buf.length < 8 + 256 * 4 + 2 * hashLength) throw new PackFormatError(`${name}: truncated (${buf.length} bytes)`);
  if (buf.readUInt32BE(0) !== MAGIC) throw new PackFormatError(`${name}: not a version 2 pack index (version 1 indexes are not supported)`);
  const version = buf.readUInt32BE(4);
  if (version !== 2) throw new PackFormatError(`${name}: unsupported index version ${version}`);
  const fanout = 8;
  const count = buf.readUInt32BE(fanout + 255 * 4);
  const oidsAt = fanout + 256 * 4;
  const crcAt = oidsAt + count * hashLength;
  const off32At = crcAt + count * 4;
  const off64At = off32At + count * 4;
  if (buf.length < off64At + 2 * hashLength) throw new PackFormatError(`${name}: truncated for ${count} objects`);
  const large = (buf.length - off64At - 2 * hashLength) / 8;
  if (!Number.isInteger(large)) throw new PackFormatError(`${name}: bad size ${buf.length} for ${count} objects`);
  // the index ends with a hash of itself: a flipped oid, offset or CRC would otherwise name or place an object
  // wrongly without any other check noticing (the pack's objects are checked by their CRC, which lives here)
  const body = buf.subarray(0, buf.length - hashLength);
  const own = createHash(hashLength === 32 ? 'sha256' : 'sha1').update(body).digest();
  if (!own.equals(buf.subarray(buf.length - hashLength))) throw new PackFormatError(`${name}: checksum mismatch (the index is corrupt)`);
  for (let i = 1; i < 256; i++) {
    if (buf.readUInt32BE(fanout + i * 4) < buf.readUInt32BE(fanout + (i - 1) * 4)) throw new PackFormatError(`${name}: fanout table is not monotonic`);
  }
  const offsets = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const v = buf.readUInt32BE(off32At + i * 4);
    if (v & 0x80000000) {
      const j = v & 0x7fffffff;
      if (j >= large) throw new PackFormatError(`${name}: 64-bit offset index ${j} out of range`);
      const hi = buf.readUInt32BE(off64At + j * 8);
      const lo = buf.readUInt32BE(off64At + j * 8 + 4);
      if (hi >= 0x200000) throw new PackFormatError(`${name}: offset beyond 2^53`);
      offsets[i] = hi * 0x100000000 + lo;
    } else offsets[i] = v;
  }
  const trailer = off64At + large * 8;
  return {
    count,
    hashLength,
    oids: buf.subarray(oidsAt, crcAt),
    offsets,
    crcs: buf.subarray(crcAt, off32At),
    packChecksum: buf.toString('hex', trailer, trailer + hashLength),
  };
}

/** Index of `oid` (raw bytes) in the sorted oid table, or -1. */
export function findOid(idx: PackIndex, oid: Buffer): number {
  const h = idx.hashLength;
  if (oid.length !== h) throw new InternalError(`oid of ${oid.length} bytes for a ${h}-byte index`);
  let lo = 0;
  let hi = idx.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = idx.oids.compare(oid, 0, h, mid * h, mid * h + h);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export function oidAt(idx: PackIndex, i: number): string {
  return idx.oids.toString('hex', i * idx.hashLength, (i + 1) * idx.hashLength);
}
