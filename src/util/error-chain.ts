// An error's cause chain, walked once for everyone who reads it: fetch wraps the socket's error (TypeError →
// cause: Error with `code`), octokit wraps fetch's, and a cause may point back at its own error.
/** The error, then its causes, outermost first: each object once (a cycle ends the walk), at most `max` of them. */
export function* causeChain(err: unknown, max = Infinity): Generator<object> {
  const seen = new Set<unknown>();
  for (let e = err, n = 0; e !== null && typeof e === 'object' && !seen.has(e) && n < max; e = (e as { cause?: unknown }).cause, n++) {
    seen.add(e);
    yield e;
  }
}

/** The first string `code` along the cause chain that `accept` takes (any, by default), looking at most `max` deep. */
export function causeCode(err: unknown, accept: (code: string) => boolean = () => true, max = Infinity): string | undefined {
  for (const e of causeChain(err, max)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && accept(code)) return code;
  }
  return undefined;
}

/** The innermost Error reached through causes that are Errors (undefined when `err` is not one). */
export function innermostError(err: unknown): Error | undefined {
  let inner: Error | undefined;
  for (const e of causeChain(err)) {
    if (!(e instanceof Error)) break;
    inner = e;
  }
  return inner;
}
