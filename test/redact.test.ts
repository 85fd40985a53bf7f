import { describe, expect, it } from 'vitest';
import { redact, SecretRegistry } from '../src/util/redact.js';
import { createLogger } from '../src/util/logger.js';

const body = 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7d';
describe('redact', () => {
  it('keeps a short literal prefix and the last 4 characters', () => {
    expect(redact('ghp_' + body)).toBe('ghp_…Ab7d');
    expect(redact('github_pat_' + body)).toBe('github_pat_…Ab7d');
    expect(redact('sk-ant-api03-' + body)).toBe('sk-ant-…Ab7d');
    expect(redact('AKIA' + 'QWERTYUIOPASDFGH')).toBe('…DFGH');
  });
  it('shows nothing of short secrets and only the armor of key blocks', () => {
    expect(redact('hunter2')).toBe('…');
    const pem = `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`;
    expect(redact(pem)).toBe('-----BEGIN RSA PRIVATE KEY-----…');
  });
});

describe('SecretRegistry and logger', () => {
  it('scrubs every registered secret from log lines, longest first', () => {
    const registry = new SecretRegistry();
    const lines: string[] = [];
    const log = createLogger({ registry, write: (l) => lines.push(l) });
    registry.add('ghp_' + body);
    registry.add(body);
    log.warn(`request with ghp_${body} failed; raw ${body}`);
    expect(lines[0]).not.toContain(body);
    expect(lines[0]).toBe('warn: request with ghp_…Ab7d failed; raw …Ab7d');
  });
});
