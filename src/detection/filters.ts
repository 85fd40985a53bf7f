// Global false-positive filters that do not cost recall: placeholders, documentation keys, references to
// environment variables, template expressions, hashes that only look random (lockfile integrity, go.sum, git
// SHAs, SRI), ids, data: URIs, public keys, and minified-bundle identifiers. Applied by the engine to every
// candidate secret. Rules that could hide a real key apply only to generic (keyword/assignment) detectors:
// a provider-format token is dropped only when it is a placeholder, a documented example or sits inside a
// public key, data: URI or integrity hash.
import type { DetectorDef } from './schema.js';

export interface FilterContext {
  /** The full line containing the secret (decoded text when found inside a decoded span). */
  line: string;
  /** What the filters know of the content's path: `pathClass(path)`. */
  pathClass: number;
  detector: DetectorDef;
}

/** Path class bits: all the filters ever look at in a path. */
export const PATH_LOCKFILE = 1;
export const PATH_CODE = 2;
export const PATH_MINIFIED = 4;
/** Number of distinct path classes (every combination of the bits). */
export const PATH_CLASSES = 8;

/**
 * The class of a path: whether it is a lockfile, a code file, a minified bundle. Filters read a path only through
 * this, and each bit only adds reasons to drop a candidate; so matches found for class 0 (no path) include those
 * of every path, and a scan can run before paths are known (src/objects/pack/source.ts) and keep, per match,
 * the classes it holds in.
 */
export function pathClass(path: string): number {
  return (LOCKFILE.test(path) ? PATH_LOCKFILE : 0) | (CODE_FILE.test(path) ? PATH_CODE : 0) | (MINIFIED_PATH.test(path) ? PATH_MINIFIED : 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Placeholders and templates (every detector).

/** Whole-value references to something else: shell/compose/helm/jinja/python-format/angle-bracket/Windows vars. */
const TEMPLATE =
  /^(?:\$\{[^}]*\}|\$\(.*\)|\{\{.*\}\}|\{%.*%\}|%\(\w+\)[sd]|<[^>]+>|\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%|#\{[^}]*\}|@[A-Za-z_][A-Za-z0-9_]*@|\[\[.*\]\])$/;
/** A template expression anywhere in the value ("Bearer ${TOKEN}", "sk_live_{{ key }}"). */
// `${…}` covers shell/compose variables and JS template literal interpolation of any expression (`${gen(13)}`).
// An opener the capture cut short (`"#{environment['X']}"` stops at the quote) is a template as well.
const EMBEDDED_TEMPLATE = /\$\{[^{}\n]{1,100}\}|\{\{\s*[.$]?[\w.\s|"'()-]+\}\}|%\([\w]+\)s|^[#$]\{/;
/** Masking and filler that no issuer emits. `x{4,}` is ~1e-4 likely in a random 100-char base62 token: accepted. */
const MASK = /x{4,}|\*{3,}|•{3,}|…|\.{3,}|#{4,}|_{5,}/i;
const PLACEHOLDER_WORDS =
  /changeme|change[_-]me|your[_-]?(?:own[_-]?)?(?:api[_-]?|access[_-]?|secret[_-]?|auth[_-]?|app[_-]?|client[_-]?)?(?:key|token|secret|password|pass)|example|placeholder|redacted|replace[_-]?(?:me|this|with)|insert[_-]?(?:your|key|token|here)|put[_-]?your|enter[_-]?your|goes[_-]?here|(?:key|token|secret|password|pass)[_-]?here|not[_-]?a[_-]?real|do[_-]?not[_-]?use|dummy/i;
/** Whole-value words people put where a secret goes. Only generic detectors can capture these. */
const WEAK_WORDS =
  /^(?:test(?:ing)?|secret|password|passwd|token|apikey|api[_-]?key|none|null|nil|undefined|true|false|empty|default|foo|bar|baz|foobar|qwerty|letmein|admin|root|user(?:name)?|pass|abc(?:123|def)?|123(?:456(?:78(?:9)?)?)?|sample|fake|mock|demo|todo|fixme|tbd|n\/a|string|value|key|my[_-]?(?:secret|token|key|password|pass|api[_-]?key)\w*|\w+[_-](?:here|goes))$/i;
/** Substrings that mark a value as a fixture in generic matches (a provider token never needs these words). */
const FIXTURE_WORDS = /dummy|fake|mock|sample|test[_-]?(?:key|token|secret|password)|not[_-]?real|foobar|lorem/i;

/** Public documentation keys (AWS docs, Azurite's emulator key, Stripe's docs test key …). */
const DOCUMENTED = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'AKIAI44QH8DHBEXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
  'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
  'sk_test_BQokikJOvBiI2HlWgH4olfQ2',
  'pk_test_TYooMQauvdEDq54NiTphI7jx',
  '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',
  'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy',
  'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe',
]);

/** Parts of widely copied documentation tokens (the jwt.io example token's payload and signature). */
const DOCUMENTED_PARTS = ['eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ', 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'];

/** Environment / secret-store lookups written where a literal would go. */
const ENV_REFERENCE =
  /^(?:process\.env|import\.meta\.env|Deno\.env|Bun\.env|os\.environ|os\.getenv|getenv|System\.getenv|System\.getProperty|Environment\.GetEnvironmentVariable|ENV\[|ENV\.fetch|env\(|\$_ENV|\$_SERVER|secrets\.|vars\.|env\.|settings\.|config\.|Config\.|this\.|self\.|props\.|ctx\.|context\.)/;

/** Keys that name where a secret lives or how it is used, not the secret itself. */
const REFERENCE_KEY =
  /(?:author|tokeniz\w*|(?:token|secret|key|credentials?|password)[_.-]?(?:url|uri|endpoint|type|expir\w*|ttl|lifetime|length|len|count|limit|name|names|id|ids|ref|arn|file|path|dir|header|field|param|version|provider|store|vault|ring|alias|size|prefix|env|var|label|policy|rotation\w*)|public[_.-]?key|pub[_.-]?key|site[_.-]?key|publishable[_.-]?key|key[_.-]?id|max[_.-]?tokens?|num[_.-]?tokens?|tokens?[_.-]?(?:used|usage|budget))$/i;
/** Keys whose values are chosen by people: judged by the password detector's floor, not randomness floors. */
const HUMAN_KEY = /passw|pwd|passphrase/i;
/** Shapes of provider tokens: a generic match starting like one was rejected (truncated, bad checksum) by its provider detector. */
const PROVIDER_PREFIX =
  /^(?:gh[pousr]_|github_pat_|glpat-|gl[a-z]{2,6}-|npm_|xox[abeprs]-|xapp-|sk_(?:live|test)_|rk_live_|whsec_|sk-(?:proj|ant|or)-|AKIA|ASIA|ABIA|ACCA|AIza|SG\.|hf_|pypi-|dop_v1_|doo_v1_|dor_v1_|shp(?:at|ca|pa|ss)_|EAAA|sq0(?:atp|csp)-|HRKU-|PMAK-|dckr_(?:pat|oat)_|rubygems_|oy2|lin_(?:api|oauth)_|ntn_|dapi|hv[sb]\.|age-secret-key-1|sntry[su]_|glc_|glsa_|NRAK-|nfp_|sbp_|sb_secret_|r8_|gsk_|pplx-|xai-|figd_|CFPAT-|pscale_|pul-|bkua_|CCIPAT_|sq[pau]_|rnd_|tfp_)/i;
/** Twilio resource SIDs (account, API key, app…) are identifiers; their secrets are separate. */
const TWILIO_SID = /^(?:AC|SK|AP|PN|MG|MM|CA|SM)[0-9a-f]{32}$/;

/** CamelCase / snake / kebab / SCREAMING identifiers: what config keys and class names look like, not keys. */
const IDENTIFIER_WORDS = /^(?:[A-Za-z][a-z]+(?:[A-Z][a-z]+)+|[a-z]+(?:[A-Z][a-z0-9]+)+|(?:[A-Z][a-z0-9]+){2,}|[a-z]+(?:[_.-][a-z]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)$/;
/** A generated secret never spells out what it is ("existingtoken123", "mysecretpassword"). */
const SECRET_WORDS_IN_VALUE = /token|secret|passw|apikey|api_key|private_?key/i;
/** Calls, member chains and conditionals: code on the right of `password:` in source files. */
const CODE_EXPRESSION = /[()]/;
const CODE_FILE = /\.(?:[cm]?[jt]sx?|java|kt|kts|cs|go|py|rb|php|swift|scala|rs|c|cc|cpp|h|hpp|groovy|dart)$/i;
const PATH_LIKE = /^[\w.-]+(?:\/[\w.-]+){3,}$/;

// ---------------------------------------------------------------------------------------------------------------
// Values that only look random.

const HASH_PREFIXED = /^(?:sha1|sha224|sha256|sha384|sha512|md5|blake2b|h1):/i;
const SRI = /^(?:sha(?:1|256|384|512))-[A-Za-z0-9+/]{20,}={0,2}$/;
const INTEGRITY_LINE = /\bintegrity\b|\bresolved\b.*#|\bchecksum\b|\bshasum\b|\bsha(?:1|256|512)?sum\b|\bdigest\b|\bh1:|\bhash\b/i;
const LOCKFILE =
  /(?:^|\/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.ya?ml|bun\.lockb?|go\.sum|Cargo\.lock|poetry\.lock|Pipfile\.lock|uv\.lock|Gemfile\.lock|composer\.lock|packages\.lock\.json|flake\.lock|mix\.lock|pubspec\.lock|Podfile\.lock|gradle\.lockfile|.+\.lock)$/;
const GIT_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const SHA_KEY = /\b(?:commit|sha|rev(?:ision)?|ref|hash|digest|checksum|etag|oid|tree|parent|head|base)\w*\s*["']?\s*[:=]/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The key of the assignment on the line names an id rather than a secret ("tenant_id", "secretId", "uuid"). */
const ID_KEY = /(?:^|[\s"'{,;(])[\w.-]*(?:[_.-]id|Id|ID|uuid|UUID|guid|GUID)["']?\s*[:=]/;
const DATA_URI = /data:[a-z]+\/[a-z0-9.+-]+(?:;[a-z0-9-]+=[^;,]*)*;base64,[A-Za-z0-9+/=]+/gi;
const PUBLIC_KEY_LINE = /(?:^|\s|["'])(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) AAAA[A-Za-z0-9+/]+={0,3}/;
const PUBLIC_BLOCK = /-----BEGIN (?:CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|PGP PUBLIC KEY BLOCK|X509 CRL|CERTIFICATE REQUEST|NEW CERTIFICATE REQUEST)-----/;
const MINIFIED_PATH = /(?:\.min\.(?:js|mjs|css)|[.-](?:bundle|chunk)\.m?js|[.-][0-9a-f]{8,20}\.m?js|\.js\.map)$/i;
/** camelCase/snake identifiers, dotted member chains, and short hex hashes: what a bundler leaves on a long line. */
const CODE_IDENTIFIER = /^[A-Za-z_$][A-Za-z_$]*\d{0,3}(?:\.[A-Za-z_$][A-Za-z_$]*\d{0,3})*$/;

function occursIn(secret: string, line: string, re: RegExp): boolean {
  re.lastIndex = 0;
  for (const m of line.matchAll(re)) if (m[0].includes(secret)) return true;
  return false;
}

/** Half or more adjacent pairs step by ±1 ("1234567890abcdef1234…"): typed by a person, never generated. */
function mostlySequential(s: string): boolean {
  if (s.length < 12) return false;
  let steps = 0;
  for (let i = 1; i < s.length; i++) if (Math.abs(s.charCodeAt(i) - s.charCodeAt(i - 1)) === 1) steps++;
  return steps >= (s.length - 1) / 2;
}

/** A run of one character, or an ascending/descending run of the alphabet or digits ("abcdef…", "123456…"). */
function trivialSequence(s: string): boolean {
  if (/^(.)\1+$/.test(s)) return true;
  if (s.length < 6) return false;
  let up = 0;
  let down = 0;
  for (let i = 1; i < s.length; i++) {
    const d = s.charCodeAt(i) - s.charCodeAt(i - 1);
    if (d === 1) up++;
    else if (d === -1) down++;
  }
  return Math.max(up, down) >= s.length - 2;
}

/** A reason the candidate is not a real secret, or null to keep it. */
export function falsePositiveReason(secret: string, ctx: FilterContext): string | null {
  const generic = ctx.detector.generic;
  const bare = secret.replace(/^["'`]|["'`]$/g, '');

  if (TEMPLATE.test(bare)) return 'template or variable reference';
  if (EMBEDDED_TEMPLATE.test(secret)) return 'template expression';
  if (MASK.test(secret)) return 'masked or filler value';
  if (PLACEHOLDER_WORDS.test(secret)) return 'placeholder';
  if (trivialSequence(bare)) return 'trivial sequence';
  if (DOCUMENTED.has(secret) || DOCUMENTED_PARTS.some((p) => secret.includes(p)) || /EXAMPLE(?:KEY)?$/.test(secret)) return 'documentation example key';
  if (ENV_REFERENCE.test(bare)) return 'environment or config reference';
  if (SRI.test(secret) || HASH_PREFIXED.test(secret)) return 'integrity hash';
  if (occursIn(secret, ctx.line, DATA_URI)) return 'inside a data: URI';
  if (PUBLIC_KEY_LINE.test(ctx.line) && !/PRIVATE KEY/.test(secret)) {
    const blob = /AAAA[A-Za-z0-9+/]+={0,3}/.exec(ctx.line)?.[0] ?? '';
    if (blob.includes(secret) || secret.includes(blob)) return 'SSH public key';
  }
  if (PUBLIC_BLOCK.test(secret) && !/PRIVATE KEY/.test(secret)) return 'public key or certificate';

  if (!generic) {
    // A provider token in a lockfile is real only outside the integrity/checksum fields (registry URLs can carry tokens).
    if ((ctx.pathClass & PATH_LOCKFILE) !== 0 && INTEGRITY_LINE.test(ctx.line) && /(?:sha\d+-|h1:)[A-Za-z0-9+/=]*$/.test(lineBefore(ctx.line, secret))) {
      return 'lockfile integrity hash';
    }
    return null;
  }

  // Generic detectors only: their match is a value next to a suggestive key, so more shapes are benign.
  const key = keyOf(ctx.line, secret);
  if (REFERENCE_KEY.test(key)) return 'key names a reference to a secret, not the secret';
  if (WEAK_WORDS.test(bare)) return 'placeholder word';
  if (PROVIDER_PREFIX.test(bare)) return 'provider-format token its own detector rejected (truncated or bad checksum)';
  if (TWILIO_SID.test(bare)) return 'Twilio SID (an identifier)';
  if (mostlySequential(bare)) return 'typed sequence ("1234…abcd…")';
  if (SECRET_WORDS_IN_VALUE.test(bare)) return 'value names a secret instead of being one';
  if (PATH_LIKE.test(bare) && bare.split('/').filter((seg) => seg.length >= 3 && /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/.test(seg)).length >= 2) return 'path-like value';
  const quoted = /["'`]$/.test(lineBefore(ctx.line, secret));
  if (!quoted && (CODE_EXPRESSION.test(bare) || ((ctx.pathClass & PATH_CODE) !== 0 && /^[A-Za-z_$][A-Za-z_$]*$/.test(bare)))) {
    return 'code expression or identifier, not a literal';
  }
  if (HUMAN_KEY.test(key)) {
    if (/^\$2[aby]?\$\d\d\$|^\$(?:argon2|pbkdf2|scrypt|6|5|1)\$/.test(bare)) return 'password hash, not a password';
    if (/^[a-z]+$/.test(bare)) return 'a single lowercase word (test value or placeholder)';
  } else {
    const floor = randomnessFloor(bare);
    if (floor) return floor;
    if (IDENTIFIER_WORDS.test(bare)) return 'identifier made of words';
  }
  if (FIXTURE_WORDS.test(secret)) return 'fixture value';
  if ((ctx.pathClass & PATH_LOCKFILE) !== 0) return 'lockfile';
  if (INTEGRITY_LINE.test(ctx.line) && /^[A-Za-z0-9+/=_-]+$/.test(secret) && !/secret|token|passw|api_?key/i.test(keyOf(ctx.line, secret))) {
    return 'checksum or digest';
  }
  if (GIT_SHA.test(secret) && SHA_KEY.test(ctx.line)) return 'git object id';
  if (UUID.test(secret) && ID_KEY.test(lineBefore(ctx.line, secret))) return 'identifier (UUID)';
  if (((ctx.pathClass & PATH_MINIFIED) !== 0 || ctx.line.length > 1000) && (CODE_IDENTIFIER.test(secret) || /^[0-9a-f]{6,32}$/.test(secret))) {
    return 'minified-code identifier';
  }
  if (CODE_IDENTIFIER.test(bare) && bare.includes('.')) return 'code reference';
  if (/^(?:https?|file):\/\/[^:@\s]+$/.test(bare) || /^\.{0,2}\/[\w./-]+$/.test(bare)) return 'URL or path without credentials';
  return null;
}

/**
 * Per-charset entropy floors for generic matches, in bits per character. A random string of length n over an
 * alphabet of k symbols has an expected Shannon entropy of about log2(k) − (k−1)/(2n·ln 2), capped by log2(n):
 *   hex (k=16):     n=16 → 3.3, n=32 → 3.7, n=64 → 3.8      floor 3.0
 *   alnum (k=62):   n=16 → 3.8, n=24 → 4.2, n=32 → 4.6      floor min(3.5, log2(n) − 0.5)
 *   base64 (k≥64):  n=20 → 4.1, n=32 → 4.6, n=44 → 5.0      floor min(4.0, log2(n) − 0.5)
 * The floors sit ~0.5 bit under those expectations (≥ 98 % of random values pass) and above what words,
 * identifiers and paths score (English text ≈ 2.5–3.3 on short strings). Hex is judged separately because its
 * 16-symbol alphabet caps it at 4 bits: a hex key would fail a base64 floor. Human passwords are not random and
 * are judged by their detector's lower floor (2.5) plus the placeholder lists instead.
 */
export function randomnessFloor(value: string): string | null {
  const n = value.length;
  if (n < 8) return 'too short for a generated secret';
  const h = shannon(value);
  let floor: number;
  let kind: string;
  if (/^[0-9a-fA-F]+$/.test(value)) {
    [floor, kind] = [3.0, 'hex'];
  } else if (/^[A-Za-z0-9]+$/.test(value)) {
    [floor, kind] = [Math.min(3.5, Math.log2(n) - 0.5), 'alphanumeric'];
  } else {
    [floor, kind] = [Math.min(4.0, Math.log2(n) - 0.5), 'base64/symbol'];
  }
  return h < floor ? `entropy ${h.toFixed(2)} below the ${kind} floor ${floor.toFixed(2)}` : null;
}

function shannon(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) h -= (c / s.length) * Math.log2(c / s.length);
  return h;
}

function lineBefore(line: string, secret: string): string {
  const i = line.indexOf(secret);
  return i === -1 ? line : line.slice(0, i);
}

/** The key of the assignment holding `secret`: the last word before the value on the line. */
function keyOf(line: string, secret: string): string {
  const before = lineBefore(line, secret);
  return /([\w.-]+)["']?\s*[:=]+>?\s*["']?$/.exec(before)?.[1] ?? before.slice(-40);
}
