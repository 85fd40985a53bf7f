// Registry of revokers written in code, by name. A detector's `revoke: {kind: code, revoker: NAME}` must name one of
// these (test/revoke.test.ts fails on an unknown or an unused name).
import type { CodeRevoker } from '../types.js';
import { npmToken } from './npm-token.js';

export const codeRevokers: ReadonlyMap<string, CodeRevoker> = new Map([npmToken].map((r) => [r.name, r]));
