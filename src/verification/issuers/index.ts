// Registry of code verifiers by name. A detector's `verify: {kind: code, verifier: NAME}` must name one of these
// (test/verification-catalog.test.ts fails on an unknown or an unused name).
import { awsSts } from './aws-sts.js';
import { azureStorage } from './azure-storage.js';
import { gcpServiceAccount } from './gcp-sa.js';
import { githubApp } from './github-app.js';
import type { CodeVerifier } from './types.js';

export type { CodeVerifier, CodeVerifierContext } from './types.js';

export const codeVerifiers: ReadonlyMap<string, CodeVerifier> = new Map(
  [awsSts, azureStorage, gcpServiceAccount, githubApp].map((v) => [v.name, v]),
);
