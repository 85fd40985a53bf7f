// Files and directories that hold findings (reports, the database, mirrors of scanned repositories) are the
// owner's alone: files 0600, directories 0700, whatever the umask, and a report never lands through a symlink.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Writes `data` to `file` through a new file: created exclusively (O_CREAT|O_EXCL, never an existing file or
 * symlink) next to it with mode 0600, then renamed over `file`. A symlink at `file` is replaced, not followed; an
 * existing file with a wider mode is replaced by a 0600 one; a reader never sees half a report.
 */
export function writePrivateFile(file: string, data: string | Buffer): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE); // the umask may have taken bits away; never add any
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** writePrivateFile for `-o FILE`: a failure is the user's to fix (a directory, no permission), named by the flag. */
export function writeOutputFile(file: string, data: string | Buffer): void {
  try {
    writePrivateFile(file, data);
  } catch (err) {
    throw new ConfigError(`cannot write ${file}: ${(err as Error).message}`, '--output');
  }
}

/**
 * Creates `file` empty with mode 0600 when it does not exist (so a program that opens it next, like SQLite, keeps
 * that mode and gives it to its side files), and narrows an existing one that group or others can read.
 */
export function ensurePrivateFile(file: string): void {
  try {
    closeSync(openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), PRIVATE_FILE_MODE));
    chmodSync(file, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    narrow(file);
  }
}

/** chmod 0600 when `file` is a regular file group or others can access (a symlink is left alone). */
export function narrow(file: string): void {
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (st?.isFile() && (st.mode & 0o077) !== 0) chmodSync(file, PRIVATE_FILE_MODE);
}

/** `mkdir -p` where every directory it creates is 0700 (the umask cannot widen it). */
export function mkdirPrivateSync(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first) for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    chmodSync(d, PRIVATE_DIR_MODE);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
}

/** Async mkdirPrivateSync. */
export async function mkdirPrivate(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first) for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    await chmod(d, PRIVATE_DIR_MODE);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
}
