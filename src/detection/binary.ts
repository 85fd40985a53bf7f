// Binary or text: which blobs the scanner skips. Classified by the share of binary bytes in a bounded prefix and
// by known magic numbers, never by one byte: a NUL at the start of a `.env` must not hide its secrets.
import { isUtf8 } from 'node:buffer';

/** Bytes looked at: the first 8 KiB, as git's own binary heuristic. */
export const BINARY_PROBE = 8192;
/** Content whose probe holds at least this share of binary bytes is binary (random or compressed data: ~55 %). */
export const BINARY_SHARE = 0.3;
/** The share from which content that starts with a binary format's magic number is binary. */
export const MAGIC_BINARY_SHARE = 0.1;

/**
 * Magic numbers of formats that are binary: images, documents, archives and compressed streams, executables and
 * object code, fonts, media, databases. `at`: their offset. Only a hint: the share of binary bytes decides, with
 * a lower bar when one of these opens the content (so a text file cannot hide behind one).
 */
const MAGIC: { at: number; bytes: Buffer }[] = [
  [0, '89504e470d0a1a0a'], // PNG
  [0, 'ffd8ff'], // JPEG
  [0, '474946383761'], // GIF87a
  [0, '474946383961'], // GIF89a
  [0, '25504446 2d'], // %PDF-
  [0, '504b0304'], // ZIP, JAR, APK, docx/xlsx…
  [0, '504b0506'], // empty ZIP
  [0, '1f8b'], // gzip
  [0, '425a68'], // bzip2
  [0, 'fd377a585a00'], // xz
  [0, '28b52ffd'], // zstd
  [0, '377abcaf271c'], // 7z
  [0, '7f454c46'], // ELF
  [0, 'feedface'], // Mach-O 32
  [0, 'feedfacf'], // Mach-O 64
  [0, 'cefaedfe'], // Mach-O 32, little-endian
  [0, 'cffaedfe'], // Mach-O 64, little-endian
  [0, 'cafebabe'], // Mach-O universal, Java class
  [0, '4d5a'], // PE (MZ)
  [0, '0061736d'], // wasm
  [0, '53514c69746520666f726d6174203300'], // SQLite format 3
  [0, '52494646'], // RIFF (WAV, AVI, WebP)
  [0, '4f676753'], // Ogg
  [0, '494433'], // MP3 with ID3
  [4, '66747970'], // MP4, MOV, HEIC (ftyp)
  [0, '00000100'], // ICO
  [0, '49492a00'], // TIFF little-endian
  [0, '4d4d002a'], // TIFF big-endian
  [0, '774f4646'], // WOFF
  [0, '774f4632'], // WOFF2
  [0, '00010000'], // TrueType
  [0, '4f54544f'], // OpenType (OTTO)
  [0, 'd0cf11e0a1b11ae1'], // OLE2 (doc, xls, msi)
  [0, '213c617263683e0a'], // ar archive (.a, .deb)
  [257, '7573746172'], // tar (ustar)
].map(([at, hex]) => ({ at: at as number, bytes: Buffer.from((hex as string).replace(/ /g, ''), 'hex') }));

/** Whether `buf` opens with (or, for tar and MP4, holds at its offset) a known binary format's magic number. */
export function hasBinaryMagic(buf: Buffer): boolean {
  for (const m of MAGIC) {
    if (buf.length < m.at + m.bytes.length) continue;
    if (buf[m.at] === m.bytes[0] && buf.compare(m.bytes, 0, m.bytes.length, m.at, m.at + m.bytes.length) === 0) return true;
  }
  return false;
}

/** Per byte below 0x80: 1 for control characters text does not use (all of C0 but \t \n \v \f \r and ESC, and DEL). */
const CONTROL = new Uint8Array(128);
for (let b = 0; b < 32; b++) CONTROL[b] = 1;
for (const b of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]) CONTROL[b] = 0;
CONTROL[0x7f] = 1;

/**
 * Whether at least `limit` bytes of `p` are binary: control characters text does not use, and bytes that are no
 * part of a well-formed UTF-8 sequence (a sequence cut by the end of the probe is not held against it). Stops
 * as soon as the limit is reached.
 */
function atLeastBinaryBytes(p: Buffer, limit: number): boolean {
  let bad = 0;
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const b = p[i]!;
    if (b < 0x80) {
      bad += CONTROL[b]!;
    } else {
      const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
      let ok = need > 0;
      if (ok && i + need >= n) break; // cut by the probe's end
      for (let k = 1; ok && k <= need; k++) ok = (p[i + k]! & 0xc0) === 0x80;
      if (ok) i += need;
      else bad++;
    }
    if (bad >= limit) return true;
  }
  return bad >= limit;
}

/**
 * Binary content is not scanned. Text: no NUL and well-formed UTF-8 in the probe (the fast path, two native
 * passes). Otherwise binary when at least 30 % of the probe are binary bytes, or 10 % when a known binary format's
 * magic number opens it: a text file with a few stray NUL or control bytes, or a magic number pasted in front,
 * is still scanned.
 */
export function isBinary(buf: Buffer): boolean {
  const n = Math.min(buf.length, BINARY_PROBE);
  if (n === 0) return false;
  const p = buf.subarray(0, n);
  if (p.indexOf(0) === -1) {
    // a multi-byte character cut by the probe's end is still text
    let end = n;
    for (let j = n - 1; j >= Math.max(0, n - 3); j--) {
      const b = p[j]!;
      if (b < 0x80) break;
      if (b >= 0xc0) {
        if (j + (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2) > n) end = j;
        break;
      }
    }
    if (isUtf8(p.subarray(0, end))) return false;
  }
  const share = hasBinaryMagic(buf) ? MAGIC_BINARY_SHARE : BINARY_SHARE;
  return atLeastBinaryBytes(p, Math.max(1, Math.ceil(n * share)));
}
