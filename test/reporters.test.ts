import { describe, expect, it } from 'vitest';
import { reporters } from '../src/notify/reporters/index.js';
import type { RawFinding } from '../src/core/model.js';
import type { ReportInput } from '../src/notify/reporters/types.js';

// Synthetic, obviously fake secret built at test time (not a credential format anyone issues).
const SECRET = ['tok', 'en_', 'Zq9'.repeat(8), 'a1B2'].join('');

function finding(over: Partial<RawFinding> = {}): RawFinding {
  return {
    detector: 'example-token',
    name: 'Example token',
    provider: 'example',
    severity: 'high',
    confidence: 'medium',
    fingerprint: 'ab'.repeat(32),
    secret: SECRET,
    parts: {},
    redacted: 'token_…a1B2',
    locations: [
      {
        commit: 'c'.repeat(40),
        author: { name: 'Alice, "A"', email: 'alice@example.test' },
        date: '2024-01-03T12:00:00.000Z',
        path: 'config/app settings.env',
        line: 3,
        column: 14,
        blob: 'b'.repeat(40),
      },
      { commit: null, author: null, date: null, path: '=cmd|calc', line: 1, column: 1, blob: null, decoded: ['base64'] },
    ],
    ...over,
  };
}

function input(over: Partial<ReportInput> = {}): ReportInput {
  return {
    findings: [finding()],
    reveal: false,
    stats: { blobs: 2, bytes: 2_000_000, skipped: 1, findings: 1, elapsedMs: 500 },
    skipped: [{ path: 'big.bin', blob: null, reason: 'binary' }],
    incomplete: [],
    toolVersion: '0.1.0',
    ...over,
  };
}

describe('reporters', () => {
  it('registry covers every CLI --format choice', () => {
    expect(Object.keys(reporters).sort()).toEqual(['csv', 'json', 'sarif', 'table']);
  });

  for (const [name, reporter] of Object.entries(reporters)) {
    it(`${name}: never contains the plaintext without --reveal, contains it with`, () => {
      expect(reporter(input())).not.toContain(SECRET);
      expect(reporter(input({ reveal: true }))).toContain(SECRET);
    });
  }

  it('json: the documented shape', () => {
    const report = JSON.parse(reporters.json(input()));
    expect(Object.keys(report)).toEqual(['version', 'status', 'incomplete', 'findings']);
    expect(report).toMatchObject({ version: 1, status: 'complete', incomplete: [] });
    const out = report.findings;
    expect(out).toHaveLength(1);
    expect(Object.keys(out[0])).toEqual(['detector', 'name', 'provider', 'severity', 'confidence', 'fingerprint', 'redacted', 'locations']);
    expect(out[0].confidence).toBe('medium');
    const co = JSON.parse(reporters.json(input({ findings: [finding({ alsoMatched: ['generic-secret-assignment'] })] })));
    expect(Object.keys(co.findings[0])).toEqual(['detector', 'name', 'provider', 'severity', 'confidence', 'alsoMatched', 'fingerprint', 'redacted', 'locations']);
    expect(out[0].locations[0]).toEqual({
      commit: 'c'.repeat(40),
      author: { name: 'Alice, "A"', email: 'alice@example.test' },
      date: '2024-01-03T12:00:00.000Z',
      path: 'config/app settings.env',
      line: 3,
      column: 14,
      blob: 'b'.repeat(40),
    });
    expect(out[0].locations[1].decoded).toEqual(['base64']);
    const revealed = JSON.parse(reporters.json(input({ reveal: true })));
    expect(revealed.findings[0].secret).toBe(SECRET);
  });

  it('json and sarif: an incomplete scan says so and names each object it could not read', () => {
    const incomplete = [
      { object: 'd'.repeat(40), path: 'big.env', reason: 'too-large', detail: 'blob is 9 bytes, over the 5-byte limit' },
      { object: 'e'.repeat(40), reason: 'corrupt-object', detail: 'git cat-file: inflate error' },
    ];
    const report = JSON.parse(reporters.json(input({ incomplete })));
    expect(report.status).toBe('incomplete');
    expect(report.incomplete).toEqual(incomplete);
    const run = JSON.parse(reporters.sarif(input({ incomplete }))).runs[0];
    expect(run.invocations[0].executionSuccessful).toBe(false);
    const notes = run.invocations[0].toolExecutionNotifications;
    expect(notes.map((n: { descriptor: { id: string } }) => n.descriptor.id)).toEqual(['too-large', 'corrupt-object']);
    expect(notes[0].message.text).toContain('d'.repeat(40));
    expect(notes[0].locations[0].physicalLocation.artifactLocation.uri).toBe('big.env');
    expect(notes[1].message.text).toContain('e'.repeat(40));
    expect(JSON.parse(reporters.sarif(input())).runs[0].invocations[0]).toEqual({ executionSuccessful: true, toolExecutionNotifications: [] });
    expect(reporters.table(input({ incomplete }))).toContain('INCOMPLETE: 2 object(s) could not be scanned');
    expect(reporters.table(input())).not.toContain('INCOMPLETE');
  });

  it('sarif: 2.1.0 with rules, partialFingerprints and capped locations', () => {
    const many = finding({
      locations: Array.from({ length: 1500 }, (_, i) => ({ ...finding().locations[0]!, line: i + 1 })),
    });
    const log = JSON.parse(reporters.sarif(input({ findings: [many, finding({ detector: 'other-token', fingerprint: 'cd'.repeat(32) })] })));
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0];
    expect(run.tool.driver.name).toBe('keyloop');
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(['example-token', 'other-token']);
    for (const r of run.results) {
      expect(run.tool.driver.rules[r.ruleIndex].id).toBe(r.ruleId);
      expect(r.partialFingerprints['keyloop/v1']).toMatch(/^[0-9a-f]{64}$/);
      expect(r.locations.length).toBeLessThanOrEqual(1000);
      for (const l of r.locations) expect(l.physicalLocation.region.startLine).toBeGreaterThan(0);
    }
    expect(run.results[0].properties.locationCount).toBe(1500);
    expect(run.results[0].locations[0].physicalLocation.artifactLocation.uri).toBe('config/app%20settings.env');
  });

  it('sarif: rank and properties carry the confidence; a low-confidence result is a note', () => {
    type Result = { rank: number; level: string; properties: { confidence: string } };
    const conf = (c: RawFinding['confidence']): Result => (JSON.parse(reporters.sarif(input({ findings: [finding({ confidence: c })] }))) as { runs: Array<{ results: Result[] }> }).runs[0]!.results[0]!;
    expect([conf('high').rank, conf('medium').rank, conf('low').rank]).toEqual([90, 60, 20]);
    expect([conf('high').level, conf('medium').level, conf('low').level]).toEqual(['error', 'error', 'note']);
    expect(conf('low').properties.confidence).toBe('low');
  });

  it('csv: one row per location, quoted, formula cells neutralised', () => {
    const rows = reporters.csv(input()).trimEnd().split('\r\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toBe('detector,confidence,fingerprint,redacted,status,commit,author_name,author_email,date,path,line,column,decoded,context');
    expect(rows[1]!.startsWith('example-token,medium,')).toBe(true);
    expect(rows[1]).toContain('"Alice, ""A"""');
    expect(rows[2]).toContain(",'=cmd|calc,");
  });

  it('table: severity, confidence, status, detector, location, owner, preview; first location and extra count; summary with skips', () => {
    const out = reporters.table(input());
    const [header, row] = out.split('\n');
    expect(header).toMatch(/^SEVERITY\s+CONF\s+STATUS\s+DETECTOR\s+LOCATION\s+OWNER\s+PREVIEW$/);
    // unverified when not verified; the location with line, commit and the count of other locations; the preview
    // says how long the secret is (never a bare …) and is never the secret without --reveal
    expect(row).toMatch(new RegExp(String.raw`^high\s+medium\s+unverified\s+example-token\s+config\/app settings\.env:3@cccccccc \+1\s+Alice, "A"\s+token_…a1B2 \(${SECRET.length} chars\)$`));
    expect(out).not.toContain(SECRET);
    expect(reporters.table(input({ reveal: true }))).toContain(SECRET);
    expect(out).toContain('1 finding(s), 2 location(s) in 2 blob(s), 2.0 MB, 0.50 s; 1 skipped (1 binary)');
    const verified = reporters.table(input({ findings: [finding({ verification: { status: 'live', checkedAt: 'x', reason: 'r' } })] }));
    expect(verified.split('\n')[1]).toMatch(/^high\s+medium\s+live\s+/);
    expect(reporters.table(input({ findings: [] })).split('\n')[0]).toBe('No secrets found.');
  });

  it('table: most severe first, then live before unknown, unverified and dead', () => {
    const at = (path: string) => [{ ...finding().locations[0]!, path }];
    const v = (status: 'live' | 'dead' | 'unknown') => ({ status, checkedAt: 'x', reason: 'r' });
    const rows = reporters
      .table(
        input({
          findings: [
            finding({ severity: 'medium', locations: at('m.env') }),
            finding({ severity: 'critical', verification: v('dead'), locations: at('c-dead.env') }),
            finding({ severity: 'critical', locations: at('c-unverified.env') }),
            finding({ severity: 'critical', verification: v('live'), locations: at('c-live.env') }),
            finding({ severity: 'critical', verification: v('unknown'), locations: at('c-unknown.env') }),
            finding({ severity: 'low', locations: at('l.env') }),
          ],
        }),
      )
      .split('\n')
      .slice(1, 7)
      .map((r) => /\s(\S+\.env):/.exec(r)![1]);
    expect(rows).toEqual(['c-live.env', 'c-unknown.env', 'c-unverified.env', 'c-dead.env', 'm.env', 'l.env']);
  });

  it('table: fits the terminal width by shortening the owner and the middle of the path, never an identifier', () => {
    const deep = 'services/payments/internal/adapters/legacy/config/production/secrets.env';
    const f = finding({ detector: 'aws-secret-access-key-with-a-long-id', locations: [{ ...finding().locations[0]!, path: deep, author: { name: 'Alexandra Example-Longname', email: 'a@example.test' } }] });
    const wide = reporters.table(input({ findings: [f] }));
    expect(wide).toContain(deep);
    const lines = reporters.table(input({ findings: [f], width: 150 })).split('\n');
    for (const l of lines.slice(0, 2)) expect(l.length).toBeLessThanOrEqual(150);
    expect(lines[1]).toContain('aws-secret-access-key-with-a-long-id');
    expect(lines[1]).toContain(`token_…a1B2 (${SECRET.length} chars)`);
    // the file name, line and commit stay; the middle of the path goes
    expect(lines[1]).toMatch(/services\/\S*…\/secrets\.env:3@cccccccc/);
    expect(lines[1]).not.toContain(deep);
    expect(lines[1]).toMatch(/Alexandra E\S*…/);
    // narrower than the identifiers allow: they stay whole, the row is as short as it can be
    const narrow = reporters.table(input({ findings: [f], width: 60 })).split('\n')[1]!;
    expect(narrow).toContain('aws-secret-access-key-with-a-long-id');
    expect(narrow).toContain(':3@cccccccc');
    expect(narrow.length).toBeLessThan(lines[1]!.length);
  });
});
