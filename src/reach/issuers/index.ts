// Registry of reachers written in code, by name. A detector's `reach: {kind: code, reacher: NAME}` must name one of
// these (test/reach.test.ts fails on an unknown or an unused name).
import type { CodeReacher } from '../types.js';
import { awsIam } from './aws-iam.js';
import { pypiMacaroon } from './pypi-macaroon.js';

export const codeReachers: ReadonlyMap<string, CodeReacher> = new Map([awsIam, pypiMacaroon].map((r) => [r.name, r]));
