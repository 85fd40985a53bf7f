// src/util/error-chain.ts: the one cause-chain walk behind GitHub's fail-fast network errors (adapters/github
// networkCode) and the verifier's network messages (verification/http-client describeNetworkError).
import { describe, expect, it } from 'vitest';
import { networkCode } from '../src/adapters/github/client.js';
import { causeChain, causeCode, innermostError } from '../src/util/error-chain.js';

/** fetch's shape: TypeError('fetch failed') → cause: the socket's error with its code. */
const fetchFailed = (code?: string, message = 'connect failed') =>
  new TypeError('fetch failed', { cause: Object.assign(new Error(message), code ? { code } : {}) });

describe('error cause chain', () => {
  it('walks outermost first, each object once, and stops at a cycle or at `max`', () => {
    const inner = new Error('inner');
    const mid = new Error('mid', { cause: inner });
    const outer = new Error('outer', { cause: mid });
    expect([...causeChain(outer)]).toEqual([outer, mid, inner]);
    expect([...causeChain(outer, 2)]).toEqual([outer, mid]);
    (inner as { cause?: unknown }).cause = outer;
    expect([...causeChain(outer)]).toEqual([outer, mid, inner]);
    expect([...causeChain('a string')]).toEqual([]);
    expect([...causeChain(null)]).toEqual([]);
  });

  it('finds the first code that is accepted, within the depth', () => {
    const err = fetchFailed('ECONNREFUSED');
    expect(causeCode(err)).toBe('ECONNREFUSED');
    expect(causeCode(Object.assign(err, { code: 'ERR_OTHER' }))).toBe('ERR_OTHER');
    expect(causeCode(err, (c) => c.startsWith('ECONN'))).toBe('ECONNREFUSED');
    expect(causeCode(err, (c) => c.startsWith('ECONN'), 1)).toBeUndefined();
    expect(causeCode(new Error('no code'))).toBeUndefined();
  });

  it('finds the innermost Error through Error causes only', () => {
    const socket = new Error('socket hang up');
    expect(innermostError(new TypeError('fetch failed', { cause: socket }))).toBe(socket);
    const top = new Error('top', { cause: { code: 'X' } });
    expect(innermostError(top)).toBe(top);
    expect(innermostError({ message: 'not an Error' })).toBeUndefined();
  });

  it('GitHub: only network failures it knows, six causes deep at most', () => {
    expect(networkCode(fetchFailed('ENOTFOUND'))).toBe('ENOTFOUND');
    expect(networkCode(fetchFailed('ERR_SOMETHING_ELSE'))).toBeUndefined();
    let deep: Error = Object.assign(new Error('socket'), { code: 'ECONNRESET' });
    for (let i = 0; i < 5; i++) deep = new Error(`wrap ${i}`, { cause: deep });
    expect(networkCode(deep)).toBe('ECONNRESET');
    expect(networkCode(new Error('one more', { cause: deep }))).toBeUndefined();
  });
});
