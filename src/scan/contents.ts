// The pipeline's `open` port (core/pipeline.ts): enumerates a repository's selection into a content source and the
// scan stage that matches it. A full-history git scan takes the pack reader's delta-aware fast path (first crawls
// of keyloop scan, org, the App and workers alike; packReader false or KEYLOOP_PACK_READER=0: off); it reads only
// the blobs asked for through git when most are known already (incremental runs), and narrower selections always
// do, as delta-aware scanning reads every blob of the pack. With packs big enough for workers, the scan starts
// before the history walk, for any path, while git walks (startPrescan).
import { availableParallelism } from 'node:os';
import { gitSource, type ContentSource } from '../core/content.js';
import { NotARepositoryError } from '../core/errors.js';
import type { OpenedContent, RepositorySource, ScanPorts } from '../core/pipeline.js';
import type { BlobSelection } from '../core/ports.js';
import type { Engine } from '../detection/types.js';
import { openRepo } from '../objects/open.js';
import { directorySource } from '../sources/directory-source.js';
import { earlyPackPool, packSource, startPrescan, type PackScanStats } from './pack-path.js';
import { createScanPool, type ScanPool } from './pool.js';
import { scanStage } from './stage.js';

export interface ContentOptions {
  engine: Engine;
  /** Where workers load the detectors from when they are not handed the engine's catalog ('' : they are). */
  detectorsDir?: string;
  /** Worker threads. Absent: one per core once the content reaches 32 MiB, else this thread. */
  jobs?: number;
  maxBlobSize: number;
  /** false: no pack fast path (KEYLOOP_PACK_READER=0). */
  packReader?: boolean;
  /** Packs from this many bytes get a worker pool and a scan that starts during the history walk (default 32 MiB). */
  packPoolMinBytes?: number;
  /** Told what the pack fast path scanned (only called when it ran). */
  onPackStats?: (s: PackScanStats) => void;
}

/** Below this many bytes a worker pool costs more (each worker compiles the catalog) than it saves. */
const POOL_MIN_BYTES = 32 * 1024 * 1024;

/** The `open` port over git repositories and directories, matching with `opts.engine` (in this thread or on workers). */
export function contentOpener(opts: ContentOptions): ScanPorts['open'] {
  return (repo, selection) => (repo.kind === 'directory' ? openDirectory(repo.dir, opts) : openGit(repo, selection, opts));
}

async function openDirectory(dir: string, opts: ContentOptions): Promise<OpenedContent> {
  const source = await directorySource(dir, { ignoreFiles: true });
  const pool = createScanPool({ detectorsDir: opts.detectorsDir ?? '', jobs: jobsFor(source, opts), engine: opts.engine });
  return { source, stage: scanStage(opts.engine.catalog, pool), commits: 0, head: null, close: () => pool.close() };
}

async function openGit(repo: Extract<RepositorySource, { kind: 'git' }>, selection: BlobSelection, opts: ContentOptions): Promise<OpenedContent> {
  const objects = repo.objects ?? (await openRepo(repo.dir, repo.backend ?? 'auto'));
  if (!objects) throw new NotARepositoryError(`${repo.dir} is not a git repository`);
  const owned = repo.objects ? null : objects;
  const detectorsDir = opts.detectorsDir ?? '';
  const fast = selection.kind === 'all' && opts.packReader !== false;
  const minPackBytes = opts.packPoolMinBytes;
  const early = fast
    ? earlyPackPool(repo.dir, {
        detectorsDir,
        jobs: opts.jobs ?? availableParallelism(),
        engine: opts.engine,
        ...(minPackBytes !== undefined ? { minPackBytes } : {}),
      })
    : null;
  const prescan = early ? startPrescan(repo.dir, early, { maxBlobSize: opts.maxBlobSize }) : null;
  let pool: ScanPool | undefined;
  const close = async () => {
    await pool?.close();
    // the fast path closes its pool when its scan ends; this covers a scan that never started
    await prescan?.cancel();
    await early?.close();
    await owned?.close();
  };
  try {
    let source: ContentSource & { commits: number } = await gitSource(objects, selection);
    prescan?.walkDone();
    const head = selection.kind === 'all' ? await objects.resolve('HEAD') : null;
    const packOpts = {
      detectorsDir,
      jobs: jobsFor(source, opts),
      engine: opts.engine,
      onStats: opts.onPackStats,
      ...(early ? { pool: early } : {}),
      ...(prescan ? { prescan } : {}),
    };
    if (fast) source = packSource(source, repo.dir, packOpts) ?? source;
    // the fast path matches on its own pool; other sources on one sized to their bytes
    pool = createScanPool({ detectorsDir, jobs: source.scan ? 1 : jobsFor(source, opts), engine: opts.engine });
    return { source, stage: scanStage(opts.engine.catalog, pool), commits: source.commits, head, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function jobsFor(source: ContentSource, opts: ContentOptions): number {
  const bytes = source.items.reduce((n, i) => n + (i.size <= opts.maxBlobSize ? i.size : 0), 0);
  return opts.jobs ?? (bytes >= POOL_MIN_BYTES ? availableParallelism() : 1);
}
