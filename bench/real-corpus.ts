// The pure parts of `npm run bench:real` (bench/real-bench.ts): which published versions of a package make its
// history, checking a tarball against the registry's dist.integrity, comparing two keyloop JSON reports, and the
// markdown table. No I/O here, so test/bench-real.test.ts checks them offline.
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** One package of the real-code corpus: its versions in history order, each pinned to the registry's integrity. */
export const RealPackage = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
    versions: z.array(z.object({ version: z.string(), integrity: z.string().regex(/^sha(1|256|384|512)-/) }).strict()).min(1),
  })
  .strict();
export type RealPackage = z.infer<typeof RealPackage>;
export const RealManifest = z.object({ packages: z.array(RealPackage).min(1) }).strict();
export type RealManifest = z.infer<typeof RealManifest>;

const STABLE = /^(\d+)\.(\d+)\.(\d+)$/;

/** Orders x.y.z versions numerically (1.10.0 after 1.9.3). Prerelease and build tags are not expected here. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The `count` newest stable releases (x.y.z, no prerelease) below `below` if given, in version order: successive
 * published versions, so each commit of the history is the next release's whole tree.
 */
export function pickVersions(versions: readonly string[], count: number, below?: string): string[] {
  const stable = [...new Set(versions.filter((v) => STABLE.test(v) && (below === undefined || compareVersions(v, below) < 0)))].sort(compareVersions);
  return stable.slice(Math.max(0, stable.length - count));
}

/**
 * `npm view NAME@RANGE version dist.integrity --json` answers one object for one version and an array for
 * several; both become {version → integrity}.
 */
export function parseNpmView(json: string): Map<string, string> {
  const Row = z.object({ version: z.string(), 'dist.integrity': z.string() });
  const raw: unknown = JSON.parse(json);
  const rows = z.union([Row, z.array(Row)]).parse(raw);
  return new Map((Array.isArray(rows) ? rows : [rows]).map((r) => [r.version, r['dist.integrity']]));
}

/**
 * Whether `data` matches a Subresource Integrity string as the registry writes it (`sha512-<base64>`, possibly
 * several space-separated hashes): the strongest algorithm present must match.
 */
export function matchesIntegrity(data: Buffer, integrity: string): boolean {
  const order = ['sha1', 'sha256', 'sha384', 'sha512'];
  const hashes = integrity
    .trim()
    .split(/\s+/)
    .map((h) => /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/=]+)(\?.*)?$/.exec(h))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => order.indexOf(b[1]!) - order.indexOf(a[1]!));
  const best = hashes[0];
  if (!best) return false;
  const algo = best[1]!;
  const actual = createHash(algo).update(data).digest('base64');
  return hashes.filter((h) => h[1] === algo).some((h) => h[2] === actual);
}

/** What a keyloop JSON report (`scan --format json`) holds that the comparison reads. */
const Report = z
  .object({
    status: z.string(),
    findings: z.array(
      z.object({ detector: z.string(), fingerprint: z.string(), confidence: z.string(), locations: z.array(z.record(z.string(), z.unknown())) }).passthrough(),
    ),
  })
  .passthrough();

/**
 * One line per (finding, location), sorted: two reports give the same lines when they find the same secrets
 * (fingerprints stand for them: no --reveal needed) with the same detector and confidence at the same commits,
 * paths, lines, columns and blobs.
 */
export function findingKeys(reportJson: string): string[] {
  const report = Report.parse(JSON.parse(reportJson));
  const keys: string[] = [];
  for (const f of report.findings) {
    const head = `${f.detector}\t${f.fingerprint}\t${f.confidence}`;
    if (f.locations.length === 0) keys.push(head);
    for (const l of f.locations) keys.push(`${head}\t${JSON.stringify(Object.fromEntries(Object.entries(l).sort(([a], [b]) => a.localeCompare(b))))}`);
  }
  return keys.sort();
}

/** The keys only one side has (at most `limit` of each), for a bench line that says what differs. */
export function diffKeys(a: readonly string[], b: readonly string[], limit = 5): { onlyA: string[]; onlyB: string[]; same: boolean } {
  const sa = new Set(a);
  const sb = new Set(b);
  const onlyA = a.filter((k) => !sb.has(k));
  const onlyB = b.filter((k) => !sa.has(k));
  return { onlyA: onlyA.slice(0, limit), onlyB: onlyB.slice(0, limit), same: onlyA.length === 0 && onlyB.length === 0 && a.length === b.length };
}

/** GNU time's `-f '%e %M'` line (elapsed seconds, peak RSS in KiB), the last line of its stderr. */
export function parseTimeLine(stderr: string): { seconds: number; maxRssKb: number } | null {
  const lines = stderr.trimEnd().split('\n');
  const m = /^(\d+(?:\.\d+)?) (\d+)$/.exec(lines[lines.length - 1] ?? '');
  return m ? { seconds: Number(m[1]), maxRssKb: Number(m[2]) } : null;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A GitHub-flavoured markdown table; cells are written as given (escape `|` before). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
