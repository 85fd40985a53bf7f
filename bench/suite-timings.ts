// `npm run bench:suite`: the speed budgets the test suite used to assert, measured here instead (tests assert what
// is done, not how fast, so they hold on a loaded machine). Each line prints the time and its budget; the exit
// code is 1 when one is over. Run it on a quiet machine. Runs from dist/.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createGitHubClient, GitHubRepoHost } from '../src/adapters/github/index.js';
import { createEngine } from '../src/detection/engine.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import { IsomorphicGitObjects } from '../src/objects/isomorphic.js';
import { NativeGitObjects } from '../src/objects/native.js';
import { scanOrg } from '../src/sources/github-org.js';
import { contentOpener } from '../src/scan/contents.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { SecretRegistry } from '../src/util/redact.js';
import { createVerifier } from '../src/verification/verify.js';
import { startFakeGitHub } from '../testkit/fake-github.js';
import { FakeIssuer } from '../testkit/fake-issuer.js';
import { useHermeticGit } from '../testkit/git-env.js';
import { buildRepo, syntheticHistory, tempDir } from '../testkit/git-repo.js';
import { withCrc32Tail } from '../testkit/token-gen.js';

useHermeticGit();
const argv = process.argv.slice(2);
const arg = (n: string, d: number) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};

let over = 0;
function report(name: string, ms: number, budgetMs: number, note = ''): void {
  const ok = ms <= budgetMs;
  if (!ok) over++;
  console.log(`${ok ? 'ok  ' : 'OVER'} ${name}: ${ms.toFixed(0)} ms (budget ${budgetMs} ms)${note ? ` — ${note}` : ''}`);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await fn();
  return [v, performance.now() - t];
}

/** testkit's buildRepo: 500 commits in one fast-import. */
async function fixtureBuild(): Promise<void> {
  const [, ms] = await timed(() => buildRepo({ bare: true, commits: syntheticHistory(500) }));
  report('buildRepo, 500 commits', ms, 3000);
}

/** Full-history enumeration of a generated history by both git backends. */
async function enumeration(): Promise<void> {
  const n = arg('commits', 1500);
  const r = await buildRepo({ bare: true, commits: syntheticHistory(n, { files: 400, branches: 4 }) });
  const [native, nativeMs] = await timed(() => new NativeGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' }));
  report(`native enumeration, ${n} commits`, nativeMs, 10_000, `${native.blobs.length} blobs`);
  const [, isoMs] = await timed(() => new IsomorphicGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' }));
  report(`isomorphic enumeration, ${n} commits`, isoMs, Math.max(60_000, nativeMs * 20));
}

/** A stalled issuer: the verifier gives up at its timeout, not much later. */
async function verifierTimeout(): Promise<void> {
  const issuer = await FakeIssuer.start();
  try {
    const detector = loadCatalog(defaultDetectorsDir()).byId.get('github-pat-classic')!;
    const secret = withCrc32Tail('ghp_', randomBytes(15).toString('hex'));
    issuer.setKey('github', secret, 'slow');
    const verifier = createVerifier({ registry: new SecretRegistry(), baseUrls: issuer.baseUrls(), timeoutMs: 250 });
    const [v, ms] = await timed(() => verifier.verify({ detector, secret, parts: {}, fingerprint: 'bench' }));
    report('verification of a stalled issuer, timeout 250 ms', ms, 2000, `${v.status}: ${v.reason}`);
  } finally {
    await issuer.close();
  }
}

/** `keyloop org` over N repos, then again with nothing pushed: the second run fetches and scans nothing. */
async function orgRerun(): Promise<void> {
  const repos = arg('repos', 125);
  const token = 'bench-crawler-' + randomBytes(8).toString('hex');
  const fake = await startFakeGitHub({ tokens: { [token]: 'crawler' } });
  try {
    await Promise.all(
      Array.from({ length: repos }, async (_, i) => {
        const name = `r${String(i).padStart(3, '0')}`;
        const r = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'README.md': `# ${name}\n`, 'src/app.js': `export const n = ${i};\n` } }] });
        fake.addRepo(`acme/${name}`, { gitDir: r.gitDir });
      }),
    );
    const dir = await tempDir('keyloop-bench-org-');
    const engine = createEngine(loadCatalog(defaultDetectorsDir()));
    const key = randomBytes(32);
    const run = async () => {
      const store = openSqliteStore(join(dir, 'k.db'), { key });
      const host = new GitHubRepoHost(createGitHubClient({ baseUrl: fake.url, token }), { token });
      try {
        return await scanOrg({ org: 'acme', host, store, engine, contents: contentOpener({ engine, jobs: 1, maxBlobSize: 10 << 20 }), cacheDir: join(dir, 'cache'), maxBlobSize: 10 << 20, concurrency: 4 });
      } finally {
        await store.close();
      }
    };
    const [first, firstMs] = await timed(run);
    const [second, secondMs] = await timed(run);
    console.log(`     org, ${repos} repos, first run: ${firstMs.toFixed(0)} ms — ${first.run.blobsScanned} blobs`);
    report(`org, ${repos} repos, second run (nothing pushed)`, secondMs, Math.round(firstMs), `${second.run.blobsScanned} blobs; budget: the first run`);
  } finally {
    await fake.close();
  }
}

await fixtureBuild();
await enumeration();
await verifierTimeout();
await orgRerun();
if (over) process.exitCode = 1;
