// Names git accepts, checked before anything read from a payload, an API answer or the command line is compared,
// stored or handed to git (every caller also puts it after `--`). Ground rules: the App's payload schemas, sources
// and attribution use them without reaching git plumbing.

/** The all-zero commit id a push reports for a ref that did not exist before (created) or no longer does (deleted). */
export const ZERO_SHA = '0000000000000000000000000000000000000000';

/**
 * A full ref name git itself would accept (check-ref-format), under refs/ and never option-like: payload and API
 * refs are checked with this before they are compared, stored or handed to git.
 */
export function isRefName(ref: string): boolean {
  if (!ref.startsWith('refs/') || ref.length > 1024) return false;
  // control characters, space and ~^:?*[\ ; "..", "@{", "//"; a trailing "/" or "."
  if (/[\0-\x20\x7f~^:?*[\\]|\.\.|@\{|\/\/|[/.]$/.test(ref)) return false;
  return ref.split('/').every((c) => c !== '' && !c.startsWith('.') && !c.startsWith('-') && !c.endsWith('.lock'));
}

/** A branch name (without refs/heads/) that makes a valid ref and cannot read as an option. */
export const isBranchName = (name: string): boolean => isRefName(`refs/heads/${name}`);

/** A revision given by a user or read from data: not empty, not option-like, one line. */
export const isRevision = (rev: string): boolean => rev !== '' && !rev.startsWith('-') && rev.length <= 1024 && !/[\0-\x1f\x7f]/.test(rev);
