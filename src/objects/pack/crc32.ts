// CRC-32 (the zlib/PNG polynomial, as pack indexes store it): node's zlib.crc32 where it exists (Node ≥ 20.15),
// else a table-driven one in JS.
import zlib from 'node:zlib';

let table: Int32Array | null = null;

function jsCrc32(data: Uint8Array): number {
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let crc = -1;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

const native = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `data` as an unsigned 32-bit number. */
export const crc32: (data: Uint8Array) => number = typeof native === 'function' ? (d) => native(d) : jsCrc32;

/** @internal the JS fallback, for its test against node's. */
export const crc32Js = jsCrc32;
