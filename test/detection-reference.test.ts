// The fast engine (keyword Set → probes → detectors over whole blobs) against the brute-force reference (every
// detector over every whole blob, every encoded span decoded, same filters), on the real catalog: a fresh
// synthetic secret for every detector wrapped in realistic files (plain, JSON, YAML, .env, minified, base64 in a
// Kubernetes Secret, percent-encoded, JSON-escaped), next to real source from node_modules. Findings and raw
// regex matches must be identical.
import { join } from 'node:path';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { loadSample, type SampleFile } from '../bench/engine-bench.js';
import { createEngine, type DetectionEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';
import { probePatterns, probeSpecs, startBound, withoutCaptures } from '../src/detection/regex.js';
import { generateSample, rng } from '../testkit/token-gen.js';

const DIR = join(import.meta.dirname, '..', 'detectors');
const catalog = loadCatalog(DIR);

function carriers(seed: number): SampleFile[] {
  const rand = rng(seed);
  const files: SampleFile[] = [];
  const filler = 'const options = { retries: 3, timeout: 1000 }; // token refresh handled by the client\n';
  catalog.detectors.forEach(({ def }, i) => {
    const { text, secret } = generateSample(def, rand);
    const add = (path: string, body: string) => files.push({ path, data: Buffer.from(body, 'utf8') });
    switch (i % 8) {
      case 0:
        add(`src/config-${i}.js`, `${filler.repeat(20)}${text}\n${filler.repeat(20)}`);
        break;
      case 1:
        add(`config/settings-${i}.json`, `{\n  "name": "svc",\n  "note": ${JSON.stringify(text)},\n  "retries": 3\n}\n`);
        break;
      case 2:
        add(`deploy/values-${i}.yaml`, `service:\n  name: api\n  config: |\n    ${text.split('\n').join('\n    ')}\n  replicas: 2\n`);
        break;
      case 3:
        add(`k8s/secret-${i}.yaml`, `apiVersion: v1\nkind: Secret\ndata:\n  value: ${Buffer.from(text).toString('base64')}\n`);
        break;
      case 4:
        add(`dist/bundle-${i}.min.js`, `${'function(e,t){return e.key||t.token},'.repeat(400)}var c=${JSON.stringify(text)};${'x=1;'.repeat(400)}`);
        break;
      case 5:
        add(`docs/callback-${i}.md`, `See https://hooks.example.test/cb?payload=${encodeURIComponent(text)}&x=1 for details.\n`);
        break;
      case 6:
        add(`.env.${i}`, `# local settings\nPORT=8080\n${text}\nDEBUG=false\n`);
        break;
      default:
        // Two secrets of one detector on adjacent lines, and the plain secret alone.
        add(`notes/pair-${i}.txt`, `${text}\n${generateSample(def, rand).text}\n${secret}\n`);
    }
  });
  return files;
}

function findings(engine: DetectionEngine, files: SampleFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    for (const m of engine.scan(f.data, { path: f.path })) out.push(`${f.path} ${m.detectorId} @${m.offset} ${m.decoded?.join('+') ?? ''} ${m.secret}`);
    for (const c of engine.rawCandidates(f.data)) out.push(`${f.path} raw ${c.detectorId} ${c.start}-${c.end}`);
  }
  return out.sort();
}

describe('fast engine = brute-force reference on the real catalog', () => {
  const fast = createEngine(catalog);
  const reference = createEngine(catalog, { reference: true });

  it('generated secrets of every detector in realistic carriers', () => {
    const files = carriers(20240611);
    const got = findings(fast, files);
    expect(got).toEqual(findings(reference, files));
    // The sample is meaningful: most detectors report their planted secret.
    const reported = new Set(got.filter((k) => !k.includes(' raw ')).map((k) => k.split(' ')[1]));
    expect(reported.size).toBeGreaterThan(catalog.detectors.length * 0.8);
  });

  it('probe Sets by group, of the whole catalog (once the groups have probed enough) and the reference agree on large blobs', () => {
    // blobs of 64 KiB and more with many candidate detectors are probed with RE2.Sets: carriers concatenated
    const files = carriers(99);
    const large: SampleFile[] = [];
    for (let i = 0; i + 60 <= files.length && i < 180; i += 60) {
      const data = Buffer.concat(files.slice(i, i + 60).map((f) => Buffer.concat([f.data, Buffer.from('\n')])));
      large.push({ path: `src/large-${i}.js`, data });
    }
    expect(Math.min(...large.map((f) => f.data.length))).toBeGreaterThan(64 << 10);
    const expected = findings(reference, large);
    expect(expected.filter((k) => !k.includes(' raw ')).length).toBeGreaterThan(large.length * 10);
    // the default engine probes with the groups' Sets, then (past 8 MiB; here 256 KiB) with the catalog's
    const adaptive = createEngine(catalog, { wholeSetAfter: 256 << 10 });
    expect(findings(adaptive, large)).toEqual(expected);
    expect(findings(adaptive, large)).toEqual(expected);
    expect(findings(createEngine(catalog, { setGroup: catalog.detectors.length }), large)).toEqual(expected);
    expect(findings(createEngine(catalog, { setGroup: 24 }), large)).toEqual(expected);
    expect(findings(createEngine(catalog, { setGroup: 1 }), large)).toEqual(expected);
  });

  it('real source (node_modules) with a secret spliced into the largest files', () => {
    const files = loadSample(join(import.meta.dirname, '..', 'node_modules'), 1_500_000);
    expect(files.length).toBeGreaterThan(20);
    const rand = rng(7);
    // Large blobs take the combined-Set path: plant secrets there too.
    const big = [...files].sort((a, b) => b.data.length - a.data.length).slice(0, 3);
    big.forEach((f, i) => {
      const { def } = catalog.detectors[(i * 37) % catalog.detectors.length]!;
      const mid = f.data.indexOf(0x0a, f.data.length >> 1) + 1;
      f.data = Buffer.concat([f.data.subarray(0, mid), Buffer.from(`${generateSample(def, rand).text}\n`), f.data.subarray(mid)]);
    });
    expect(findings(fast, files)).toEqual(findings(reference, files));
  });
});

describe('probes', () => {
  it('are necessary conditions: every generated sample that matches a detector matches one of its probes', () => {
    const rand = rng(99);
    let probed = 0;
    for (const { def } of catalog.detectors) {
      const probes = probePatterns(def.pattern).map((p) => new RE2(p));
      if (probes.length === 0) continue;
      probed++;
      const full = new RE2(def.pattern);
      for (let k = 0; k < 5; k++) {
        const { text } = generateSample(def, rand);
        if (full.test(text))
          expect(
            probes.some((p) => p.test(text)),
            `${def.id}: ${probePatterns(def.pattern).join(' || ')}`,
          ).toBe(true);
      }
    }
    expect(probed).toBeGreaterThan(150);
  });

  it('drop leading \\b, optional prefixes and anchors, split small leading alternations, start at a literal run', () => {
    expect(probePatterns('\\b(ghp_[A-Za-z0-9]{36})(?:[^A-Za-z0-9]|$)')).toEqual(['ghp_[A-Za-z0-9]{36}(?:[^A-Za-z0-9]|$)']);
    expect(probePatterns('\\b((?:sqp|sqa)_[a-f0-9]{40})\\b')).toEqual(['sqp_[a-f0-9]{40}\\b', 'sqa_[a-f0-9]{40}\\b']);
    expect(probePatterns('(?m)^\\s*(?://[^\\s=]+/)?:?_authToken\\s*=\\s*(\\S+)')).toEqual(['(?m)_authToken\\s*=\\s*(\\S+)']);
    expect(probePatterns('\\b[a-z][a-z0-9+.-]{1,20}://[^\\s:@]{1,64}:([^\\s:@]{6,128})@')).toEqual(['://[^\\s:@]{1,64}:([^\\s:@]{6,128})@']);
    expect(probePatterns('(?i)(?:export\\s+)?[A-Za-z0-9_.-]{0,40}?(?:secret|token)\\s*=\\s*(\\w{16,})')).toEqual([
      '(?i)secret\\s*=\\s*(\\w{16,})',
      '(?i)token\\s*=\\s*(\\w{16,})',
    ]);
    // A flag set inside a group ends with it: not spliced into what follows.
    expect(probePatterns('\\b((?i)abc)def')).toEqual(['((?i)abc)def']);
    // Top-level alternation, backreference-like escapes and \Q are left alone.
    expect(probePatterns('a+b|cd')).toEqual([]);
    expect(probePatterns('\\Qx\\E(y)')).toEqual([]);
  });
});

describe('start bounds', () => {
  it('never exceed the start of a match: every detector, generated samples after whitespace-, export- and word-rich filler', () => {
    const rand = rng(123);
    const fillers = ['', 'export   \t\n  ', 'x'.repeat(300), 'const a = 1;\n'.repeat(30), ' \u00e9\u20ac '.repeat(40), 'export MY_'];
    let checked = 0;
    for (const { def } of catalog.detectors) {
      const specs = probeSpecs(def.pattern);
      if (specs.length === 0) continue;
      const probes = specs.map((s) => new RE2(withoutCaptures(s.source)));
      const bounds = specs.map((s) => startBound(s.prefix));
      const full = new RE2(def.pattern, 'g');
      for (let k = 0; k < 3; k++) {
        const filler = fillers[Math.floor(rand() * fillers.length)]!;
        const data = Buffer.from(`${filler}${generateSample(def, rand).text}\n${filler}${generateSample(def, rand).text}`, 'utf8');
        let from = Infinity;
        probes.forEach((p, i) => {
          const m = p.exec(data);
          if (m) from = Math.min(from, bounds[i] ? bounds[i](data, m.index) : 0);
        });
        full.lastIndex = 0;
        let m: ReturnType<RE2['exec']>;
        while ((m = full.exec(data)) !== null) {
          expect(m.index, `${def.id}: ${specs.map((s) => s.prefix).join(' || ')}`).toBeGreaterThanOrEqual(from);
          checked++;
          if (m[0].length === 0) full.lastIndex = m.index + 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('walk optional prefixes back over unbounded whitespace and bounded classes', () => {
    const b = startBound('(?i)(?:export\\s+)?[A-Za-z0-9_.-]{0,4}?')!;
    const data = Buffer.from(`${'y'.repeat(300)}\n  export   \t\n MY_SECRET=abc`);
    // 4 characters of up to 4 bytes each, then the whitespace run, then "export": back to 6 bytes before the run.
    expect(b(data, data.indexOf('SECRET'))).toBe(294);
    expect(startBound('')!(data, 17)).toBe(17);
    // Unbounded group repetition and flag groups are beyond the walk: no bound (run from the start).
    expect(startBound('(?:ab)+')).toBeNull();
    expect(startBound('(?i:ab)')).toBeNull();
  });

  it('withoutCaptures keeps classes, escapes and named groups apart', () => {
    expect(withoutCaptures('(a)[(]\\((?P<n>b)(?<m>c)(?:d)(?i)')).toBe('(?:a)[(]\\((?:b)(?:c)(?:d)(?i)');
  });
});
