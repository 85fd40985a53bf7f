// The redactor (src/util/redact.ts) is the last line of defence: every log line, error, issue body and report
// without --reveal passes through SecretRegistry.scrub. Property: a registered secret never survives, whatever
// text surrounds it, wherever it sits (start, end, next to or overlapping another secret), in each encoding
// keyloop's outputs use (as is, JSON, table/stderr escapes, CSV, URI, HTML); and scrubbing a JSON report keeps it
// JSON. Before, only the raw form was replaced: a secret holding a quote, a backslash or a newline survived in
// JSON, and a secret overlapping another left all but its last 4 characters in clear.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redact, SecretRegistry } from '../../src/util/redact.js';
import { createLogger } from '../../src/util/logger.js';
import { escapeControls } from '../../src/util/terminal-safe.js';

/** Secrets and surrounding text use disjoint alphabets, so text never holds a secret by chance. */
const SECRET_CHARS = 'ABCDEFGHKMNPQRSTWXYZ0123456789"\\/+=&<>\'%\n\t\x1b\u202e'.split('');
const TEXT_CHARS = 'abcdefghijklmnopqrstuvwxyz .,:;{}()[]|-_'.split('');
const secretArb = fc.string({ unit: fc.constantFrom(...SECRET_CHARS), minLength: 12, maxLength: 60 });
const textArb = fc.string({ unit: fc.constantFrom(...TEXT_CHARS), maxLength: 40 });

const ENCODINGS: Record<string, (s: string) => string> = {
  raw: (s) => s,
  'json document': (s) => JSON.stringify({ report: s }),
  'table/stderr': escapeControls,
  'csv cell': (s) => `"${s.replace(/"/g, '""')}"`,
  encodeURI: (s) => encodeURI(s),
  encodeURIComponent: (s) => encodeURIComponent(s),
  html: (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!),
};
const encodingArb = fc.constantFrom(...Object.keys(ENCODINGS));

describe('SecretRegistry.scrub (fast-check)', () => {
  it('no registered secret survives, in any encoding, wherever it sits in the text', () => {
    fc.assert(
      fc.property(fc.array(secretArb, { minLength: 1, maxLength: 3 }), fc.array(textArb, { minLength: 4, maxLength: 4 }), encodingArb, (secrets, texts, encoding) => {
        const enc = ENCODINGS[encoding]!;
        const reg = new SecretRegistry();
        for (const s of secrets) reg.add(s);
        // text, secret, text, secret… (the first may sit at the very start, the last at the very end)
        const plain = texts[0]! + secrets.map((s, i) => s + (texts[i + 1] ?? '')).join('');
        const out = reg.scrub(enc(plain));
        for (const s of secrets) {
          expect(out).not.toContain(enc(s));
          expect(out).not.toContain(s);
        }
      }),
      { numRuns: 400, seed: 160 },
    );
  });

  it('secrets that overlap leave no part of either beyond what a preview shows', () => {
    fc.assert(
      fc.property(secretArb, secretArb, fc.integer({ min: 4, max: 11 }), textArb, textArb, encodingArb, (a, tail, shared, before, after, encoding) => {
        const enc = ENCODINGS[encoding]!;
        // b starts with the last `shared` characters of a: "…aaaaSSSS" + "SSSSbbbb…"
        const b = a.slice(-shared) + tail;
        const reg = new SecretRegistry();
        reg.add(a);
        reg.add(b);
        const out = reg.scrub(enc(before + a + tail + after));
        expect(out).not.toContain(enc(a.slice(0, -4)));
        expect(out).not.toContain(enc(b.slice(4)));
      }),
      { numRuns: 300, seed: 161 },
    );
  });

  it('scrubbing a JSON report keeps it JSON, with previews in place of the secrets', () => {
    fc.assert(
      fc.property(fc.array(secretArb, { minLength: 1, maxLength: 3 }), textArb, (secrets, text) => {
        const reg = new SecretRegistry();
        for (const s of secrets) reg.add(s);
        const doc = JSON.stringify({ findings: secrets.map((s) => ({ path: `${text}/${s}.env`, note: `${s}${text}` })) }, null, 2);
        const parsed = JSON.parse(reg.scrub(doc)) as { findings: { path: string; note: string }[] };
        for (const f of parsed.findings) for (const s of secrets) {
          expect(f.path).not.toContain(s);
          expect(f.note).not.toContain(s);
        }
      }),
      { numRuns: 200, seed: 162 },
    );
  });
});

describe('SecretRegistry.scrub examples', () => {
  const body = 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7d';
  it('a PEM key in a JSON report and in a table line is replaced by its armor preview', () => {
    const pem = `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`;
    const reg = new SecretRegistry();
    reg.add(pem);
    expect(reg.scrub(JSON.stringify({ path: `x ${pem} y` }))).toBe(JSON.stringify({ path: `x ${redact(pem)} y` }));
    expect(reg.scrub(escapeControls(`row ${pem}`))).toBe(`row ${redact(pem)}`);
  });

  it('the logger scrubs before it escapes, so a secret with a line break never reaches stderr', () => {
    const secret = `pw"${body}\nsecond`;
    const reg = new SecretRegistry();
    reg.add(secret);
    const lines: string[] = [];
    createLogger({ registry: reg, write: (l) => lines.push(l) }).warn(`failed with ${secret} and ${JSON.stringify(secret)}`);
    expect(lines[0]).not.toContain(body);
  });
});
