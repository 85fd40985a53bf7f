import { publicFinding, type Reporter } from './types.js';

/** An array of findings, each with all its locations. */
export const jsonReporter: Reporter = ({ findings, reveal }) =>
  JSON.stringify(findings.map((f) => publicFinding(f, reveal)), null, 2) + '\n';
