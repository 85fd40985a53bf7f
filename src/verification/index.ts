export { createVerifier, onlyLive, issuerOf } from './verify.js';
export { findingsVerifier } from './findings.js';
export type { Verifier, VerifierOptions, VerifyRequest, IssuerLimits } from './verify.js';
export { MemoryVerificationCache } from './cache.js';
export type { VerificationCache } from './cache.js';
export { codeVerifiers } from './issuers/index.js';
export type { CodeVerifier, CodeVerifierContext } from './issuers/index.js';
