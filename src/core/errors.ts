// The few named errors. Commands throw; only cli/main.ts turns them into messages and exit codes.

/** Bad configuration or arguments: the user can fix it. `field` is the path of the bad field when known. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(message: string, readonly field?: string) {
    super(field ? `${field}: ${message}` : message);
  }
}

/** Something outside us failed (GitHub, an issuer, the network, git): not the repo's or user's fault. */
export class HostError extends Error {
  override name = 'HostError';
  constructor(message: string, readonly status?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Ends the process with `code` after printing `message` (if any). */
export class ExitError extends Error {
  override name = 'ExitError';
  constructor(readonly code: number, message = '') {
    super(message);
  }
}

/** A bug in keyloop. */
export class InternalError extends Error {
  override name = 'InternalError';
}

/** What a catch or a rejection received, as an Error: anything else thrown (a string, an object) is a bug. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new InternalError(String(err));
}

/** The database cannot be reached or refused us (host down, wrong port, bad credentials): a runtime error. */
export class StoreUnavailableError extends HostError {
  override name = 'StoreUnavailableError';
}

/** A path that should hold a git repository (a mirror) does not: the repository's failure, which retrying cannot fix. */
export class NotARepositoryError extends Error {
  override name = 'NotARepositoryError';
}
