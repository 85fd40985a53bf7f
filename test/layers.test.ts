// The layer rules of issue #18, read from the imports of src/ and cli/ with the TypeScript compiler's parser:
// each "A never imports B" holds, except the known exceptions below, which work in flight removes. A new import
// that breaks a rule fails here; so does an exception that no longer occurs (delete it: the rule now holds).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * "A never imports B": layers are the folders under src/ (src/objects/pack/x.ts is in `objects`), `cli`, and the
 * store's two adapters, which are layers of their own inside `store` (src/store/sqlite, src/store/postgres). A rule
 * on a layer covers the layers inside it: "core never imports store" also forbids store/sqlite.
 */
const RULES: { from: string; to: string; why: string }[] = [
  { from: 'objects', to: 'detection', why: 'git reading hands out blobs, deltas and provenance; matching is the scan stage' },
  { from: 'objects', to: 'scan', why: 'the scan stage reads git through objects/, not the other way round' },
  { from: 'core', to: 'detection', why: 'the pipeline knows the scan stage by its port (core/pipeline.ts ScanStage)' },
  { from: 'core', to: 'scan', why: 'core is the ground every stage stands on' },
  { from: 'core', to: 'loop', why: 'core is the ground every stage stands on' },
  { from: 'core', to: 'store', why: 'the store is an adapter behind a port' },
  { from: 'detection', to: 'verification', why: 'the verify spec type is a ground type (core)' },
  { from: 'detection', to: 'reach', why: 'the reach and revoke spec types are ground types (core/reach-spec.ts)' },
  { from: 'core', to: 'reach', why: 'core is the ground every stage stands on' },
  { from: 'sources', to: 'store', why: 'sources say what to scan; recording is the use case’s' },
  { from: 'sources', to: 'loop', why: 'the issue loop runs after the scan' },
  { from: 'config', to: 'loop', why: 'config types are ground types (core)' },
  { from: 'attribution', to: 'loop', why: 'config types are ground types (core)' },
  { from: 'adapters', to: 'loop', why: 'the issue tracker port and its types are core’s' },
  { from: 'app', to: 'objects', why: 'the App scans through the use case, not git plumbing (its mirrors and push ranges are sources)' },
  { from: 'sources', to: 'app', why: 'sources say what to scan for every entry point; the App calls them' },
  { from: 'core', to: 'objects', why: 'git reading is an adapter behind GitObjects (core/ports.ts)' },
  { from: 'cli', to: 'objects', why: 'commands call use cases, not git plumbing' },
  { from: 'store', to: 'detection', why: 'the store keeps findings, whatever found them' },
  { from: 'verification', to: 'store', why: 'verification answers live/dead; the caller records it' },
  // the store, the queue and scale-out (#19) sit above git reading and scanning, and below nothing in core
  { from: 'objects', to: 'store', why: 'git reading hands out blobs; recording is the use case’s' },
  { from: 'objects', to: 'queue', why: 'git reading knows no job queue' },
  { from: 'objects', to: 'scale', why: 'git reading knows no workers' },
  { from: 'scan', to: 'store', why: 'the scan stage turns contents into findings; recording is the use case’s' },
  { from: 'scan', to: 'queue', why: 'the scan stage knows no job queue' },
  { from: 'scan', to: 'scale', why: 'workers call the scan stage, not the other way round' },
  { from: 'detection', to: 'scan', why: 'the engine matches one content; the stage drives it' },
  { from: 'core', to: 'queue', why: 'the job queue is an adapter behind core/jobs.ts' },
  { from: 'core', to: 'scale', why: 'core is the ground every stage stands on' },
  { from: 'core', to: 'adapters', why: 'core imports no adapter' },
  { from: 'core', to: 'app', why: 'core is the ground every stage stands on' },
  { from: 'store', to: 'queue', why: 'the store keeps state; the queue moves jobs (they share only a connection helper)' },
  { from: 'store', to: 'scale', why: 'the store is below the workers that use it' },
  { from: 'queue', to: 'scale', why: 'the queue carries jobs; what a job does is scale’s' },
  { from: 'sources', to: 'queue', why: 'sources say what to scan, not who scans it' },
  { from: 'sources', to: 'scale', why: 'workers call sources, not the other way round' },
  { from: 'sources', to: 'scan', why: 'sources say what to scan; the scan stage reaches them as a port (ScanPorts.open)' },
  { from: 'store/sqlite', to: 'store/postgres', why: 'the adapters are independent; what they share is in src/store' },
  { from: 'store/postgres', to: 'store/sqlite', why: 'the adapters are independent; what they share is in src/store' },
  { from: 'app', to: 'store/sqlite', why: 'the App opens its store through store/open.ts (SQLite or PostgreSQL)' },
  { from: 'app', to: 'store/postgres', why: 'the App opens its store through store/open.ts (SQLite or PostgreSQL)' },
  { from: 'scale', to: 'store/sqlite', why: 'workers open their store through store/open.ts' },
  { from: 'cli', to: 'store/sqlite', why: 'commands open the store through store/open.ts' },
  { from: 'cli', to: 'store/postgres', why: 'commands open the store through store/open.ts' },
];

/** Layers inside a folder's layer (see RULES). */
const NESTED = ['store/sqlite', 'store/postgres'];

/** Whether `layer` is `name` or a layer inside it. */
const within = (layer: string, name: string) => layer === name || layer.startsWith(`${name}/`);

/** Imports that break a rule today, each with the work that removes it. The list may only shrink. */
const KNOWN: { file: string; to: string; reason: string }[] = [];

function* sourceFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

/** Every module specifier a file imports: import/export … from, import type, import(), require-free ESM only. */
function specifiers(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier))
      out.push(n.moduleSpecifier.text);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteralLike(n.arguments[0]))
      out.push(n.arguments[0].text);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) out.push(n.argument.literal.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** The layer of a repository-relative path: `cli`, a NESTED layer, or the folder under src/ (null for src/version.ts and the like). */
function layerOf(rel: string): string | null {
  const parts = rel.split('/');
  if (parts[0] === 'cli') return 'cli';
  if (parts[0] !== 'src' || parts.length <= 2) return null;
  const nested = parts.length > 3 ? `${parts[1]}/${parts[2]}` : '';
  return NESTED.includes(nested) ? nested : parts[1]!;
}

interface Edge {
  file: string;
  from: string;
  to: string;
  target: string;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const top of ['src', 'cli']) {
    for (const abs of sourceFiles(join(ROOT, top))) {
      const file = relative(ROOT, abs);
      const from = layerOf(file);
      if (!from) continue;
      for (const spec of specifiers(abs)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(ROOT, resolve(dirname(abs), spec));
        const to = layerOf(target);
        if (to && to !== from) out.push({ file, from, to, target });
      }
    }
  }
  return out;
}

describe('layer rules (#18)', () => {
  const all = edges();
  const breaks = (e: Edge, r: { from: string; to: string }) => within(e.from, r.from) && within(e.to, r.to);
  const broken = all.filter((e) => RULES.some((r) => breaks(e, r)));
  const isKnown = (e: Edge) => KNOWN.some((k) => k.file === e.file && within(e.to, k.to));

  it('reads the imports it judges (a parser that found none would pass anything)', () => {
    expect(all.length).toBeGreaterThan(200);
    // an import of each kind the reader handles: static, type-only, and a dynamic import()
    expect(all).toContainEqual(expect.objectContaining({ file: 'src/run/scan.ts', to: 'scan' }));
    expect(all).toContainEqual(expect.objectContaining({ file: 'src/loop/org-hook.ts', to: 'detection', target: 'src/detection/load.js' }));
    // the store's adapters are layers of their own: the factory reaches PostgreSQL's by import(), both share src/store
    expect(all).toContainEqual(expect.objectContaining({ file: 'src/store/open.ts', to: 'store/postgres' }));
    expect(all).toContainEqual(expect.objectContaining({ from: 'store/sqlite', to: 'store', target: 'src/store/rows.js' }));
  });

  it.each(RULES)('$from never imports $to ($why)', (rule) => {
    const offending = broken.filter((e) => breaks(e, rule) && !isKnown(e)).map((e) => `${e.file} → ${e.target}`);
    expect(offending, `new imports break "${rule.from} never imports ${rule.to}": ${rule.why}`).toEqual([]);
  });

  it('core/pipeline.ts, the stage order, imports ports and ground types only (src/core): no engine, no adapter', () => {
    const imports = specifiers(join(ROOT, 'src/core/pipeline.ts'));
    expect(imports.length).toBeGreaterThan(0);
    // './x.js' only: a package, a node module or any folder but src/core is out
    expect(imports.filter((spec) => !/^\.\/[^/]+$/.test(spec))).toEqual([]);
  });

  it('every known exception still occurs (when one is gone, delete it from KNOWN: the list only shrinks)', () => {
    for (const k of KNOWN) {
      expect(
        RULES.some((r) => within(layerOf(k.file) ?? '', r.from) && r.to === k.to),
        `${k.file} → ${k.to} is not a rule`,
      ).toBe(true);
      expect(
        broken.some((e) => e.file === k.file && within(e.to, k.to)),
        `${k.file} no longer imports ${k.to}: delete its entry from KNOWN in test/layers.test.ts`,
      ).toBe(true);
    }
  });
});
