// A plain directory as a pipeline ContentSource: one item per file, identified by its relative path.
import type { ContentSource } from '../core/content.js';
import { readDirFiles, walkDir, type DirFile, type WalkOptions } from './local-dir.js';

const NO_ONE = { name: '', email: '' };

export async function directorySource(root: string, opts: WalkOptions = {}): Promise<ContentSource> {
  const walk = await walkDir(root, opts);
  const byPath = new Map<string, DirFile>(walk.files.map((f) => [f.path, f]));
  return {
    items: walk.files.map((f) => ({
      id: f.path,
      blob: null,
      size: f.size,
      origins: [{ commit: '', author: NO_ONE, date: '', subject: '', path: f.path }],
    })),
    problems: walk.problems,
    async *read(ids, maxBlobSize) {
      const files = ids.map((id) => byPath.get(id)).filter((f): f is DirFile => f !== undefined);
      for await (const r of readDirFiles(root, files, { maxBlobSize })) {
        if ('data' in r) yield { id: r.path, data: r.data };
        else yield { id: r.path, error: r.error, detail: r.detail };
      }
    },
  };
}
