// Opt-in check against REAL issuers with keys you supply (never part of npm test). Prints one redacted line per key.
//   KEYLOOP_LIVE_GITHUB_PAT_CLASSIC=ghp_… npm run verify:live
//   KEYLOOP_LIVE_AWS_ACCESS_KEY_ID=AKIA… KEYLOOP_LIVE_AWS_ACCESS_KEY_ID__SECRET_ACCESS_KEY=… npm run verify:live
//   npm run verify:live -- --file keys.json      # [{"detector":"slack-bot-token","secret":"xoxb-…","parts":{}}]
// Flags: --unsafe (run checks with side effects), --timeout <ms>. GITHUB_API_URL points GitHub checks elsewhere.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { fingerprint } from '../src/core/fingerprint.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import { createLogger } from '../src/util/logger.js';
import { redact, SecretRegistry } from '../src/util/redact.js';
import { createVerifier, type VerifyRequest } from '../src/verification/verify.js';

const KeyFile = z.array(z.object({ detector: z.string(), secret: z.string(), parts: z.record(z.string(), z.string()).default({}) }).strict());

function fromEnv(env: NodeJS.ProcessEnv): z.infer<typeof KeyFile> {
  const out = new Map<string, { detector: string; secret: string; parts: Record<string, string> }>();
  for (const [name, value] of Object.entries(env)) {
    const m = /^KEYLOOP_LIVE_([A-Z0-9_]+?)(?:__([A-Z0-9_]+))?$/.exec(name);
    if (!m || !value) continue;
    const detector = m[1]!.toLowerCase().replace(/_/g, '-');
    const entry = out.get(detector) ?? { detector, secret: '', parts: {} };
    if (m[2]) entry.parts[m[2].toLowerCase()] = value;
    else entry.secret = value;
    out.set(detector, entry);
  }
  return [...out.values()].filter((e) => e.secret);
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const fileIdx = argv.indexOf('--file');
  const timeoutIdx = argv.indexOf('--timeout');
  const keys = fileIdx >= 0 ? KeyFile.parse(JSON.parse(readFileSync(argv[fileIdx + 1] ?? '', 'utf8'))) : fromEnv(env);
  if (keys.length === 0) {
    process.stderr.write('no keys: set KEYLOOP_LIVE_<DETECTOR_ID>=<secret> (parts: KEYLOOP_LIVE_<ID>__<PART>) or pass --file keys.json\n');
    return 2;
  }
  const catalog = loadCatalog(defaultDetectorsDir());
  const registry = new SecretRegistry();
  const verifier = createVerifier({
    registry,
    logger: createLogger({ registry, level: env.KEYLOOP_DEBUG ? 'debug' : 'warn' }),
    allowUnsafe: argv.includes('--unsafe'),
    timeoutMs: timeoutIdx >= 0 ? Number(argv[timeoutIdx + 1]) : 10_000,
    baseUrls: env.GITHUB_API_URL ? { github: env.GITHUB_API_URL } : {},
  });
  const reqs: VerifyRequest[] = [];
  for (const k of keys) {
    registry.add(k.secret);
    const detector = catalog.byId.get(k.detector);
    if (!detector) {
      process.stderr.write(`unknown detector ${k.detector}\n`);
      return 2;
    }
    reqs.push({ detector, secret: k.secret, parts: k.parts, fingerprint: fingerprint(k.detector, k.secret) });
  }
  const t0 = performance.now();
  const results = await verifier.verifyAll(reqs);
  for (const r of reqs) {
    const v = results.get(r.fingerprint)!;
    const id = v.identity ? ' ' + Object.entries(v.identity).map(([a, b]) => `${a}=${b}`).join(' ') : '';
    process.stdout.write(registry.scrub(`${r.detector.def.id}\t${redact(r.secret)}\t${v.status}\t${v.reason}${id}`) + '\n');
  }
  process.stderr.write(`${reqs.length} keys in ${Math.round(performance.now() - t0)} ms\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2), process.env);
