// A whole keyloop world for loop tests: fake GitHub (REST + git), fake issuer, real git repos with planted
// synthetic tokens, the real detection pipeline, a real SQLite store and the issue loop with a controllable clock.
import path from 'node:path';
import type { OrgCommandOptions } from '../../cli/commands/org.js';
import { createGitHubClient } from '../../src/adapters/github/client.js';
import { GitHubIssueTracker } from '../../src/adapters/github/issue-tracker.js';
import { scanGit } from '../../src/core/content.js';
import { inThreadStage } from '../../src/scan/stage.js';
import { createEngine } from '../../src/detection/engine.js';
import { defaultDetectorsDir, loadCatalog } from '../../src/detection/load.js';
import type { Catalog } from '../../src/detection/types.js';
import { parseLoopConfig, type LoopConfig } from '../../src/core/loop-config.js';
import type { AuditSink } from '../../src/core/ports.js';
import { catalogReverify, runIssueLoop, type LoopResult } from '../../src/loop/run.js';
import { NativeGitObjects } from '../../src/objects/native.js';
import type { Store } from '../../src/store/index.js';
import { openSqliteStore as openStore } from '../../src/store/sqlite/index.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { createVerifier } from '../../src/verification/verify.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { FakeIssuer } from '../../testkit/fake-issuer.js';
import { buildRepo, tempDir, type CommitSpec } from '../../testkit/git-repo.js';
import { rng, withCrc32Tail } from '../../testkit/token-gen.js';

export const ADMIN_TOKEN = 'keyloop-test-admin';
const KEY = 'ab'.repeat(32);

let catalogCache: Catalog | null = null;
export function catalog(): Catalog {
  return (catalogCache ??= loadCatalog(defaultDetectorsDir()));
}

/** Synthetic GitHub classic PATs with a valid checksum tail (the detector checks it). */
export function ghTokens(n: number, seed: number): string[] {
  const r = rng(seed);
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: n }, () => withCrc32Tail('ghp_', Array.from({ length: 30 }, () => A[Math.floor(r() * A.length)]).join('')));
}

export interface World {
  gh: FakeGitHub;
  issuer: FakeIssuer;
  dir: string;
  dbPath: string;
  store: Store;
  clock: { now(): Date; advanceDays(d: number): void };
  registry: SecretRegistry;
  repos: Map<string, { gitDir: string; private: boolean; commits: CommitSpec[] }>;
  addRepo(fullName: string, opts: { private: boolean; commits: CommitSpec[] }): Promise<void>;
  /** Appends commits (rebuilds the bare repo from the full history, same shas for old commits). */
  addCommits(fullName: string, commits: CommitSpec[]): Promise<void>;
  scan(fullName: string): Promise<void>;
  scanAll(): Promise<void>;
  loop(config?: Parameters<typeof parseLoopConfig>[0], opts?: { dryRun?: boolean; githubVerifyUrl?: string; audit?: AuditSink }): Promise<LoopResult>;
  /** Forget the database (a lost state), keeping the store key. */
  freshDb(): Promise<void>;
  close(): Promise<void>;
}

export async function createWorld(start = '2025-01-01T00:00:00Z'): Promise<World> {
  const gh = await startFakeGitHub({ tokens: { [ADMIN_TOKEN]: 'keyloop-bot' } });
  const issuer = await FakeIssuer.start();
  const dir = await tempDir('keyloop-loop-');
  let t = Date.parse(start);
  const clock = { now: () => new Date(t), advanceDays: (d: number) => void (t += d * 86_400_000) };
  let dbN = 0;
  const open = () => openStore(path.join(dir, `db-${dbN++}`, 'keyloop.db'), { key: Buffer.from(KEY, 'hex'), clock });
  const registry = new SecretRegistry();
  const engine = createEngine(catalog());
  const repos: World['repos'] = new Map();

  const build = async (fullName: string) => {
    const r = repos.get(fullName)!;
    const built = await buildRepo({ bare: true, commits: r.commits });
    r.gitDir = built.gitDir;
    gh.addRepo(fullName, { private: r.private, gitDir: built.gitDir, defaultBranch: 'main' });
  };

  const world: World = {
    gh,
    issuer,
    dir,
    dbPath: '',
    store: open(),
    clock,
    registry,
    repos,
    async addRepo(fullName, opts) {
      repos.set(fullName, { gitDir: '', private: opts.private, commits: [...opts.commits] });
      await build(fullName);
    },
    async addCommits(fullName, commits) {
      repos.get(fullName)!.commits.push(...commits);
      await build(fullName);
    },
    async scan(fullName) {
      const r = repos.get(fullName)!;
      const store = world.store;
      await store.upsertRepo({ fullName, private: r.private, defaultBranch: 'main', mirrorPath: r.gitDir });
      const stage = inThreadStage(engine);
      const seen = await store.scannedBlobs(fullName, stage.catalog);
      const blobs: [string, 'scanned' | 'skipped'][] = [];
      const objects = new NativeGitObjects({ gitDir: r.gitDir });
      try {
        const result = await scanGit(objects, { kind: 'all' }, stage, {
          maxBlobSize: 1 << 20,
          registry,
          skipItem: (id) => seen.has(id),
          onItem: (id, outcome) => blobs.push([id, outcome]),
        });
        await store.recordRepoScan(null, fullName, { findings: result.findings, blobs, catalog: stage.catalog });
      } finally {
        await objects.close();
      }
    },
    async scanAll() {
      for (const name of repos.keys()) await world.scan(name);
    },
    async loop(raw = {}, opts = {}) {
      const config: LoopConfig = parseLoopConfig(raw);
      const octokit = createGitHubClient({ baseUrl: gh.url, token: ADMIN_TOKEN, throttle: false, retries: 0 });
      const tracker = new GitHubIssueTracker({ octokit, baseUrl: gh.url, anonymous: createGitHubClient({ baseUrl: gh.url, throttle: false, retries: 0 }) });
      const verifier = createVerifier({
        baseUrls: { ...issuer.baseUrls(), ...(opts.githubVerifyUrl ? { github: opts.githubVerifyUrl } : {}) },
        allowInsecure: true,
        registry,
        clock,
        timeoutMs: 3000,
      });
      const result = await runIssueLoop({
        store: world.store,
        tracker,
        config,
        clock,
        registry,
        reverify: catalogReverify(verifier, catalog()),
        catalog: catalog(),
        dryRun: opts.dryRun ?? false,
        ...(opts.audit ? { audit: opts.audit, revokeUrl: `${gh.url}/credentials/revoke` } : {}),
      });
      return result;
    },
    async freshDb() {
      await world.store.close();
      world.store = open();
    },
    async close() {
      await world.store.close();
      await gh.close();
      await issuer.close();
    },
  };
  return world;
}

/** A command context in `cwd` with `env` whose streams are captured. */
export function cliContext(cwd: string, env: Record<string, string | undefined>) {
  let stdout = '';
  let stderr = '';
  return {
    c: { cwd, env, stdout: { write: (s: string) => ((stdout += s), true) }, stderr: { write: (s: string) => ((stderr += s), true) } },
    out: () => stdout,
    err: () => stderr,
  };
}

/** `keyloop org acme` options as the CLI would pass them, on keyloop.db, with the operator config `config`. */
export function orgOptions(config: string): OrgCommandOptions {
  return {
    org: 'acme',
    includeForks: false,
    includeArchived: false,
    db: 'keyloop.db',
    format: 'json',
    concurrency: 2,
    gitBackend: 'auto',
    maxBlobSize: 1 << 20,
    progress: false,
    refetch: false,
    rescan: false,
    config,
  };
}

/** Every text a reader of GitHub can see: issue titles, bodies, comments. */
export function allIssueText(gh: FakeGitHub): string {
  return gh.issues.map((i) => [i.title, i.body, ...i.comments.map((c) => c.body)].join('\n')).join('\n');
}
