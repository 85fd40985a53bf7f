// One loopback HTTP server playing every token issuer, routed by prefix /<issuer>/…, recording every request.
// Each issuer reads the credential the way the real one does (header scheme, Basic, path, SigV4, SharedKey, JWT)
// and answers live/dead with the real status and body shapes; tests can force 429, 5xx, stalls, junk, redirects.
import { createHash, createHmac, createPublicKey, timingSafeEqual, verify as verifySig } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour = 'live' | 'dead' | '429' | '5xx' | 'slow' | 'malformed' | 'redirect';

export interface RecordedRequest {
  issuer: string;
  method: string;
  /** Path and query after the /<issuer> prefix. */
  path: string;
  rawUrl: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A request as the fakes read it (also used by test/helpers/documented-issuer.ts). */
export interface Req {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  rawUrl: string;
}
export interface Resp {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
}
/** Credential the request proves it holds: an id under which behaviour is looked up, or null (bad / missing). */
export type Cred = string | null | { invalid: Resp };

interface Endpoint {
  method: string;
  path: RegExp;
  credential(req: Req, fake: FakeIssuer): Cred;
  live(id: string, req: Req, fake: FakeIssuer): Resp;
  dead(req: Req): Resp;
}

const json = (status: number, body: object, headers: Record<string, string> = {}): Resp => ({ status, body, headers });
const header = (req: Req, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
const scheme = (req: Req, s: string) => {
  const m = new RegExp(`^${s}\\s+(\\S+)$`, 'i').exec(header(req, 'authorization') ?? '');
  return m?.[1] ?? null;
};
const basic = (req: Req) => {
  const b = scheme(req, 'Basic');
  if (!b) return null;
  const text = Buffer.from(b, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? null : { user: text.slice(0, i), pass: text.slice(i + 1) };
};
const bearer = (req: Req) => scheme(req, 'Bearer');

/** Standard token-in-a-header issuer. */
function tokenEndpoint(method: string, path: RegExp, read: (req: Req) => string | null, live: (id: string) => Resp, dead: Resp): Endpoint {
  return { method, path, credential: read, live: (id) => live(id), dead: () => dead };
}

const b64urlJson = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;

/** Verifies an RS256 JWT against `publicKeys[claimKey]`; returns the claim value (issuer id) when valid. */
function checkJwt(token: string, publicKeys: Map<string, string>): { id: string; claims: Record<string, unknown> } | { error: string } {
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) return { error: 'A JSON web token could not be decoded' };
  let head: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    head = b64urlJson(h);
    claims = b64urlJson(p);
  } catch {
    return { error: 'A JSON web token could not be decoded' };
  }
  if (head.alg !== 'RS256') return { error: 'alg' };
  const id = typeof claims.iss === 'string' || typeof claims.iss === 'number' ? String(claims.iss) : '';
  const pem = publicKeys.get(id);
  if (!pem) return { error: 'not found' };
  const ok = verifySig('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey(pem), Buffer.from(s, 'base64url'));
  return ok ? { id, claims } : { error: 'signature' };
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const hmac = (k: string | Buffer, s: string) => createHmac('sha256', k).update(s, 'utf8').digest();

/** AWS STS: recompute SigV4 over the request's SignedHeaders with the secret we hold for the key id. */
function awsCredential(req: Req, fake: KeyMaterial): Cred {
  const cred = awsSigV4(req, fake, 'sts');
  if (typeof cred !== 'string') return cred;
  if (!/Action=GetCallerIdentity/.test(req.body)) return { invalid: { status: 400, body: '<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>' } };
  return cred;
}

/** SigV4 for one AWS service: the key id whose secret signs the request, or the answer AWS gives. */
function awsSigV4(req: Req, fake: KeyMaterial, service: string): Cred {
  const err = (code: string, msg: string) => ({
    invalid: { status: 403, headers: { 'content-type': 'text/xml' }, body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${msg}</Message></Error></ErrorResponse>` },
  });
  const auth = header(req, 'authorization') ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return err('MissingAuthenticationToken', 'Request is missing Authentication Token');
  const [, keyId, date, region, signedService, signedHeaders, signature] = m as unknown as string[];
  if (signedService !== service) return err('SignatureDoesNotMatch', `Credential should be scoped to correct service: '${service}'.`);
  const secret = fake.aws.get(keyId!);
  if (!secret) return err('InvalidClientTokenId', 'The security token included in the request is invalid.');
  const amzDate = header(req, 'x-amz-date') ?? '';
  const names = signedHeaders!.split(';');
  if (!names.includes('host')) return err('SignatureDoesNotMatch', 'host must be signed');
  const canonHeaders = names.map((n) => `${n}:${String(header(req, n) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const url = new URL(req.rawUrl, 'http://x');
  const query = [...url.searchParams].sort().map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const canonical = [req.method, url.pathname, query, canonHeaders, signedHeaders, sha256(req.body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const kSigning = hmac(hmac(hmac(hmac('AWS4' + secret, date!), region!), service), 'aws4_request');
  const expected = createHmac('sha256', kSigning).update(toSign).digest('hex');
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature!)))
    return err('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  return keyId!;
}

/** Azure SharedKey, written from the Azure docs independently of src/ (so a signing bug cannot hide in both). */
function azureCredential(req: Req, fake: KeyMaterial): Cred {
  const fail = {
    invalid: {
      status: 403,
      headers: { 'content-type': 'application/xml' },
      body: "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.</Message><AuthenticationErrorDetail>The MAC signature found in the HTTP request 'x' is not the same as any computed signature.</AuthenticationErrorDetail></Error>",
    },
  };
  const m = /^SharedKey ([a-z0-9]+):(.+)$/.exec(header(req, 'authorization') ?? '');
  if (!m) return { invalid: { status: 403, body: '<Error><Code>NoAuthenticationInformation</Code></Error>' } };
  const [, account, sig] = m as unknown as string[];
  const key = fake.azure.get(account!);
  if (!key) return fail;
  if (!header(req, 'x-ms-date') || !header(req, 'x-ms-version')) return fail;
  const msHeaders = Object.keys(req.headers)
    .filter((h) => h.startsWith('x-ms-'))
    .sort()
    .map((h) => `${h}:${String(header(req, h)).trim()}\n`)
    .join('');
  const params = [...req.query.keys()].map((k) => k.toLowerCase()).sort();
  const resource = `/${account}${req.path}` + params.map((k) => `\n${k}:${req.query.get(k)}`).join('');
  const contentLength = header(req, 'content-length');
  const lines = [req.method, '', '', contentLength && contentLength !== '0' ? contentLength : '', '', header(req, 'content-type') ?? '', '', '', '', '', '', ''];
  const expected = createHmac('sha256', Buffer.from(key, 'base64')).update(lines.join('\n') + '\n' + msHeaders + resource).digest('base64');
  return expected === sig ? account! : fail;
}

function gcpCredential(req: Req, fake: KeyMaterial): Cred {
  const form = new URLSearchParams(req.body);
  const bad = (d: string) => ({ invalid: json(400, { error: 'invalid_grant', error_description: d }) });
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return { invalid: json(400, { error: 'unsupported_grant_type' }) };
  const r = checkJwt(form.get('assertion') ?? '', fake.gcp);
  if ('error' in r) return bad(r.error === 'signature' ? 'Invalid JWT Signature.' : 'Invalid grant: account not found');
  const { aud, iat, exp } = r.claims as { aud?: string; iat?: number; exp?: number };
  if (aud !== 'https://oauth2.googleapis.com/token') return bad('Invalid JWT: Failed audience check.');
  if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 3600) return bad('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
  return r.id;
}

function githubAppCredential(req: Req, fake: KeyMaterial): Cred {
  const token = bearer(req);
  if (!token || token.split('.').length !== 3) return null;
  const r = checkJwt(token, fake.githubApps);
  const msg = (message: string) => ({ invalid: json(401, { message, documentation_url: 'https://docs.github.com/rest' }) });
  if ('error' in r) return msg(r.error === 'not found' ? 'Integration not found' : 'A JSON web token could not be decoded');
  const { iat, exp } = r.claims as { iat?: number; exp?: number };
  if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 600) return msg("'Expiration time' claim ('exp') is too far in the future");
  return r.id;
}

/** Key material the signed schemes check against (the public half, or the shared secret the issuer holds). */
export interface KeyMaterial {
  /** AWS key id → secret access key. */
  readonly aws: Map<string, string>;
  /** Azure account → base64 key. */
  readonly azure: Map<string, string>;
  /** GCP client_email → public key PEM. */
  readonly gcp: Map<string, string>;
  /** GitHub App id → public key PEM. */
  readonly githubApps: Map<string, string>;
}

/** Credential checks for the issuers that take a signature rather than the key itself. */
export const SIGNED_SCHEMES = {
  'aws-sigv4': awsCredential,
  'azure-sharedkey': azureCredential,
  'google-jwt-bearer': gcpCredential,
  'github-app-jwt': githubAppCredential,
} as const satisfies Record<string, (req: Req, keys: KeyMaterial) => Cred>;

const githubUser = (id: string): Resp =>
  json(200, { login: `user-${id.slice(-4)}`, id: 1 }, { 'x-oauth-scopes': 'repo, read:org', 'github-authentication-token-expiration': '2031-01-01 00:00:00 UTC' });
const githubBad = json(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
const githubToken = (req: Req) => scheme(req, 'token') ?? (bearer(req)?.includes('.') ? null : bearer(req));

/** Real behaviour per issuer: how the credential is presented, and what live / dead look like. */
export const ENDPOINTS: Record<string, Endpoint[]> = {
  github: [
    {
      method: 'GET',
      path: /^\/app$/,
      credential: githubAppCredential,
      live: (id) => json(200, { id: Number(id) || 1, slug: `app-${id}`, owner: { login: 'acme' } }),
      dead: () => githubBad,
    },
    tokenEndpoint('GET', /^\/(user|rate_limit|installation\/repositories)$/, githubToken, githubUser, githubBad),
  ],
  gitlab: [
    {
      method: 'POST',
      path: /^\/api\/v4\/runners\/verify$/,
      credential: (r) => {
        try {
          return (JSON.parse(r.body) as { token?: string }).token ?? null;
        } catch {
          return { invalid: json(400, { error: 'token is missing' }) };
        }
      },
      live: () => json(200, { id: 1, token: 'redacted-by-fake', token_expires_at: null }),
      dead: () => json(403, { message: '403 Forbidden' }),
    },
    tokenEndpoint('GET', /^\/api\/v4\/user$/, (r) => bearer(r) ?? header(r, 'private-token') ?? null, (id) => json(200, { username: `gl-${id.slice(-4)}` }), json(401, { message: '401 Unauthorized' })),
  ],
  slack: [
    {
      method: 'POST',
      path: /^\/api\/(auth\.test|apps\.connections\.open)$/,
      credential: bearer,
      live: (_id, r) =>
        r.path.endsWith('apps.connections.open')
          ? json(200, { ok: true, url: 'wss://wss-primary.slack.com/link/?ticket=fake' })
          : json(200, { ok: true, url: 'https://acme.slack.com/', team: 'Acme', user: 'bot', team_id: 'T0001', user_id: 'U0001' }),
      // Slack answers HTTP 200 even for a bad token.
      dead: () => json(200, { ok: false, error: 'token_revoked' }),
    },
    {
      method: 'POST',
      path: /^\/(services|workflows|triggers)\/T[A-Z0-9]+\/[AB][A-Z0-9]+\/[A-Za-z0-9]+$/,
      credential: (r) => r.path.split('/').pop() ?? null,
      // The verifier sends a malformed payload on purpose, so a live hook answers invalid_payload and posts nothing.
      live: (_id, r) => (isJson(r.body) ? { status: 200, body: 'ok' } : { status: 400, body: 'invalid_payload' }),
      dead: () => ({ status: 403, body: 'invalid_token' }),
    },
  ],
  stripe: [tokenEndpoint('GET', /^\/v1\/(charges|account|balance)$/, (r) => bearer(r) ?? basic(r)?.user ?? null, (id) => json(200, { object: 'list', data: [], url: '/v1/charges', id: `acct_${id.slice(-6)}` }), json(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } }))],
  openai: [tokenEndpoint('GET', /^\/v1\/(me|models)$/, bearer, (id) => json(200, { object: 'user', id: `user-${id.slice(-6)}`, email: 'dev@example.com' }), json(401, { error: { message: 'Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', code: 'invalid_api_key' } }))],
  anthropic: [
    {
      method: 'GET',
      path: /^\/v1\/(models|organizations\/api_keys)$/,
      credential: (r) => (header(r, 'anthropic-version') ? (header(r, 'x-api-key') ?? null) : { invalid: json(400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version header is required' } }) }),
      live: () => json(200, { data: [{ id: 'claude', type: 'model' }] }),
      dead: () => json(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }),
    },
  ],
  google: [
    tokenEndpoint('GET', /^\/v1(beta)?\/models$/, (r) => header(r, 'x-goog-api-key') ?? r.query.get('key'), () => json(200, { models: [] }), json(400, { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT', details: [{ reason: 'API_KEY_INVALID' }] } })),
    tokenEndpoint('GET', /^\/tokeninfo$/, (r) => r.query.get('access_token'), () => json(200, { azp: '1.apps.googleusercontent.com', scope: 'openid', expires_in: '3000' }), json(400, { error: 'invalid_token', error_description: 'Invalid Value' })),
    {
      method: 'POST',
      path: /^\/token$/,
      credential: gcpCredential,
      live: () => json(200, { access_token: 'ya29.fake-access-token-value', expires_in: 3599, token_type: 'Bearer' }),
      dead: () => json(400, { error: 'invalid_grant', error_description: 'Invalid grant: account not found' }),
    },
  ],
  sendgrid: [tokenEndpoint('GET', /^\/v3\/(scopes|user\/profile)$/, bearer, () => json(200, { scopes: ['mail.send'] }), json(401, { errors: [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked' }] }))],
  twilio: [
    {
      method: 'GET',
      path: /^\/(v2\/Services|2010-04-01\/Accounts(\/AC[0-9a-f]{32})?\.json)$/,
      credential: (r) => {
        const b = basic(r);
        if (!b || !/^(AC|SK)[0-9a-f]{32}$/.test(b.user)) return null;
        return b.pass;
      },
      live: () => json(200, { services: [], meta: {} }),
      dead: () => json(401, { code: 20003, message: 'Authenticate', status: 401 }),
    },
  ],
  npm: [tokenEndpoint('GET', /^\/-\/whoami$/, bearer, (id) => json(200, { username: `npm-${id.slice(-4)}` }), json(401, { error: 'Unauthorized' }))],
  pypi: [
    {
      method: 'POST',
      path: /^\/legacy\/?$/,
      credential: (r) => scheme(r, 'token') ?? (basic(r)?.user === '__token__' ? basic(r)!.pass : null),
      // PyPI checks the token before the upload; a body without a digest is then refused, so nothing is uploaded.
      live: (_id, r) => (/sha256_digest|md5_digest/.test(r.body) ? { status: 200, body: 'uploaded' } : { status: 400, body: "400 Include at least one message digest." }),
      dead: () => ({ status: 403, body: '403 Invalid or non-existent authentication information.' }),
    },
  ],
  mailgun: [tokenEndpoint('GET', /^\/v3\/domains$/, (r) => (basic(r)?.user === 'api' ? basic(r)!.pass : null), () => json(200, { total_count: 0, items: [] }), { status: 401, body: 'Forbidden' })],
  discord: [
    tokenEndpoint('GET', /^\/api\/webhooks\/\d+\/[A-Za-z0-9_-]+$/, (r) => r.path.split('/').pop() ?? null, () => json(200, { type: 1, id: '1', name: 'deploys', channel_id: '2' }), json(401, { message: 'Invalid Webhook Token', code: 50027 })),
    tokenEndpoint('GET', /^\/api\/v\d+\/users\/[@A-Za-z0-9]+$/, (r) => scheme(r, 'Bot'), (id) => json(200, { id: '1', username: `bot-${id.slice(-4)}` }), json(401, { message: '401: Unauthorized', code: 0 })),
  ],
  telegram: [tokenEndpoint('GET', /^\/bot[^/]+\/getMe$/, (r) => decodeURIComponent(/^\/bot([^/]+)\/getMe$/.exec(r.path)?.[1] ?? ''), (id) => json(200, { ok: true, result: { id: 1, is_bot: true, username: `b${id.slice(-4)}_bot` } }), json(401, { ok: false, error_code: 401, description: 'Unauthorized' }))],
  shopify: [tokenEndpoint('GET', /^\/admin\/oauth\/access_scopes\.json$/, (r) => header(r, 'x-shopify-access-token') ?? null, () => json(200, { access_scopes: [{ handle: 'read_products' }] }), json(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' }))],
  square: [tokenEndpoint('GET', /^\/v2\/(merchants|locations)$/, bearer, () => json(200, { merchant: [{ id: 'M1', business_name: 'Acme' }] }), json(401, { errors: [{ category: 'AUTHENTICATION_ERROR', code: 'ACCESS_TOKEN_REVOKED' }] }))],
  heroku: [tokenEndpoint('GET', /^\/account$/, bearer, (id) => json(200, { email: `h${id.slice(-4)}@example.com`, id: 'x' }), json(401, { id: 'unauthorized', message: 'Invalid credentials provided.' }))],
  digitalocean: [tokenEndpoint('GET', /^\/v2\/account$/, bearer, (id) => json(200, { account: { email: `d${id.slice(-4)}@example.com`, status: 'active' } }), json(401, { id: 'Unauthorized', message: 'Unable to authenticate you' }))],
  datadog: [
    tokenEndpoint('GET', /^\/api\/v1\/validate$/, (r) => header(r, 'dd-api-key') ?? null, () => json(200, { valid: true }), json(403, { errors: ['Forbidden'] })),
    // An application key only works together with an API key of the same org.
    tokenEndpoint('GET', /^\/api\/v2\/current_user$/, (r) => (header(r, 'dd-api-key') ? (header(r, 'dd-application-key') ?? null) : null), () => json(200, { data: { attributes: { handle: 'dev@example.com' } } }), json(403, { errors: ['Forbidden'] })),
  ],
  postman: [tokenEndpoint('GET', /^\/(collections|me)$/, (r) => header(r, 'x-api-key') ?? null, () => json(200, { collections: [], user: { username: 'pm' } }), json(401, { error: { name: 'AuthenticationError' } }))],
  huggingface: [tokenEndpoint('GET', /^\/api\/whoami(-v2)?$/, bearer, (id) => json(200, { name: `hf-${id.slice(-4)}`, type: 'user' }), json(401, { error: 'Invalid credentials in Authorization header' }))],
  aws: [
    {
      method: 'POST',
      path: /^\/$/,
      credential: awsCredential,
      live: (id, _r, fake) => {
        const who = fake.awsIdentity.get(id) ?? { account: '123456789012', arn: 'arn:aws:iam::123456789012:user/ci' };
        return { status: 200, headers: { 'content-type': 'text/xml' }, body: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${who.arn}</Arn><UserId>AIDAEXAMPLE</UserId><Account>${who.account}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>` };
      },
      dead: () => ({ status: 403, body: '<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>' }),
    },
  ],
  azure: [
    tokenEndpoint('GET', /^\/_apis\/profile\/profiles\/me$/, (r) => basic(r)?.pass ?? null, () => json(200, { displayName: 'Dev', id: 'x' }), { status: 401, body: '' }),
    {
      method: 'GET',
      path: /^\/$/,
      credential: azureCredential,
      live: (id) => ({ status: 200, headers: { 'content-type': 'application/xml' }, body: `<?xml version="1.0"?><EnumerationResults ServiceEndpoint="https://${id}.blob.core.windows.net/"><Containers /></EnumerationResults>` }),
      dead: () => ({ status: 403, body: "<Error><Code>AuthenticationFailed</Code><AuthenticationErrorDetail>The MAC signature found in the HTTP request 'x' is not the same as any computed signature.</AuthenticationErrorDetail></Error>" }),
    },
  ],
};

// ---- reach and revocation ---------------------------------------------------------------------------------
// What each issuer answers about a key beyond live/dead, written from its API reference (the URLs are beside each
// issuer's `reach:` block in detectors/*.yaml), never from those blocks. A key's profile (setProfile) holds what the
// issuer knows about it: scopes, account, resources. Routes here take precedence over the verification routes above.

type Profile = Record<string, unknown>;

/** npm: the live tokens of the caller's account (same user name). */
const npmUser = (fake: FakeIssuer, token: string) => pstr(fake.profile('npm', token), 'username', `npm-${token.slice(-4)}`);
const npmAccountTokens = (fake: FakeIssuer, token: string) => fake.liveCredentials('npm').filter((t) => npmUser(fake, t) === npmUser(fake, token));
/** The registry's key of a token: the hex SHA-512 of it, unless a test gives it another (profile `key`). */
const npmTokenKey = (fake: FakeIssuer, token: string) => pstr(fake.profile('npm', token), 'key', createHash('sha512').update(token).digest('hex'));
/** A Token object as the list shows it; `token` redacted as npm shows it (profile `shown`, else a prefix and suffix). */
const npmTokenObject = (fake: FakeIssuer, token: string) => {
  const p = fake.profile('npm', token);
  const shown = token.startsWith('npm_') ? `${token.slice(0, 8)}...${token.slice(-4)}` : token.slice(0, 6);
  return { token: pstr(p, 'shown', shown), key: npmTokenKey(fake, token), cidr_whitelist: null, readonly: pbool(p, 'readonly'), automation: false, created: '2024-03-01T10:00:00.000Z', updated: '2024-03-01T10:00:00.000Z' };
};
const pstr = (p: Profile, k: string, d: string): string => {
  const v = p[k];
  return typeof v === 'string' ? v : d;
};
const plist = <T = string>(p: Profile, k: string): T[] => (Array.isArray(p[k]) ? (p[k] as T[]) : []);
const pbool = (p: Profile, k: string): boolean => p[k] === true;

/** GitLab reads PRIVATE-TOKEN or a Bearer token. */
const gitlabToken = (r: Req) => header(r, 'private-token') ?? bearer(r) ?? null;
const gitlab401 = json(401, { message: '401 Unauthorized' });
const slackToken = (r: Req) => bearer(r) ?? new URLSearchParams(r.body).get('token');
const stripeKey = (r: Req) => bearer(r) ?? basic(r)?.user ?? null;
const stripe401 = json(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_live_********' } });
/** A restricted key without the permission for a resource (Stripe "403 Forbidden: the API key doesn't have permissions"). */
const stripeDenied = (perm: string) =>
  json(403, {
    error: {
      type: 'invalid_request_error',
      message: `The provided key does not have the required permissions for this endpoint. Having the '${perm}' permission would allow this request to continue.`,
    },
  });
const stripeList = (url: string) => json(200, { object: 'list', data: [], has_more: false, url });
/** Twilio: HTTP Basic with an Account SID (AC…) or API key SID (SK…) and its secret. */
const twilioSecret = (r: Req) => {
  const b = basic(r);
  return b && /^(AC|SK)[0-9a-f]{32}$/.test(b.user) ? b.pass : null;
};
const twilio401 = json(401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
const twilioAccount = (sid: string, name: string, type: string, owner: string) => ({
  sid,
  friendly_name: name,
  status: 'active',
  type,
  owner_account_sid: owner,
  date_created: 'Thu, 01 Jun 2023 00:00:00 +0000',
  uri: `/2010-04-01/Accounts/${sid}.json`,
});
const mailgunKey = (r: Req) => (basic(r)?.user === 'api' ? basic(r)!.pass : null);
const datadogKey = (r: Req) => header(r, 'dd-api-key') ?? null;
const hf401 = json(401, { error: 'Invalid credentials in Authorization header' });
const heroku401 = json(401, { id: 'unauthorized', message: 'Invalid credentials provided.' });
const do401 = json(401, { id: 'Unauthorized', message: 'Unable to authenticate you' });
const anthropicKey = (r: Req) =>
  header(r, 'anthropic-version')
    ? (header(r, 'x-api-key') ?? null)
    : { invalid: json(400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version header is required' } }) };
const anthropic401 = json(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });

/** Cursor-paginated list as OpenAI and Anthropic return them (data, has_more, first_id, last_id; `after`/`after_id`). */
function cursorPage(items: Array<{ id: string }>, req: Req, afterParam: string): Resp {
  const limit = Math.max(1, Math.min(100, Number(req.query.get('limit') ?? 20)));
  const after = req.query.get(afterParam);
  const start = after ? items.findIndex((x) => x.id === after) + 1 : 0;
  const page = items.slice(start, start + limit);
  return json(200, { object: 'list', data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: start + limit < items.length });
}

/** An IAM Query API answer: <ActionResponse><ActionResult>…</ActionResult></ActionResponse>. */
const iamXml = (action: string, inner: string): Resp => ({
  status: 200,
  headers: { 'content-type': 'text/xml' },
  body: `<${action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></${action}Response>`,
});
const members = (xs: string[], f: (x: string) => string) => xs.map((x) => `<member>${f(x)}</member>`).join('');
const policyMember = (name: string) => `<PolicyName>${name}</PolicyName><PolicyArn>arn:aws:iam::aws:policy/${name}</PolicyArn>`;

/** What IAM knows about a key id's user (setProfile('aws-iam', keyId, …)). */
function iamAnswer(keyId: string, req: Req, fake: FakeIssuer): Resp {
  const p = fake.profile('aws-iam', keyId);
  const form = new URLSearchParams(req.body);
  const action = form.get('Action') ?? '';
  const user = pstr(p, 'user', 'ci');
  if (pbool(p, 'denied'))
    return {
      status: 403,
      headers: { 'content-type': 'text/xml' },
      body: `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/${user} is not authorized to perform: iam:${action} on resource: user ${user}</Message></Error></ErrorResponse>`,
    };
  const groups = (p.groups ?? {}) as Record<string, string[]>;
  switch (action) {
    case 'ListAttachedUserPolicies':
      if (form.get('UserName') !== user) break;
      return iamXml(action, `<AttachedPolicies>${members(plist(p, 'policies'), policyMember)}</AttachedPolicies><IsTruncated>false</IsTruncated>`);
    case 'ListUserPolicies':
      return iamXml(action, `<PolicyNames>${members(plist(p, 'inline'), (x) => x)}</PolicyNames><IsTruncated>false</IsTruncated>`);
    case 'ListGroupsForUser':
      return iamXml(
        action,
        `<Groups>${members(Object.keys(groups), (g) => `<GroupName>${g}</GroupName><Path>/</Path><Arn>arn:aws:iam::123456789012:group/${g}</Arn>`)}</Groups><IsTruncated>false</IsTruncated>`,
      );
    case 'ListAttachedGroupPolicies':
      return iamXml(
        action,
        `<AttachedPolicies>${members(groups[form.get('GroupName') ?? ''] ?? [], policyMember)}</AttachedPolicies><IsTruncated>false</IsTruncated>`,
      );
    case 'GetAccessKeyLastUsed': {
      // Never used: LastUsedDate absent, ServiceName and Region "N/A" (API_AccessKeyLastUsed).
      const at = typeof p.lastUsed === 'string' ? p.lastUsed : null;
      const used = at
        ? `<LastUsedDate>${at}</LastUsedDate><ServiceName>s3</ServiceName><Region>us-east-1</Region>`
        : '<ServiceName>N/A</ServiceName><Region>N/A</Region>';
      return iamXml(action, `<UserName>${user}</UserName><AccessKeyLastUsed>${used}</AccessKeyLastUsed>`);
    }
  }
  return {
    status: 400,
    headers: { 'content-type': 'text/xml' },
    body: '<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code></Error></ErrorResponse>',
  };
}

/** Datadog: one fake issuer per site; a key lives on the site it was registered with. */
function datadogSite(): Endpoint[] {
  return [
    tokenEndpoint('GET', /^\/api\/v1\/validate$/, datadogKey, () => json(200, { valid: true }), json(403, { errors: ['Forbidden'] })),
    {
      method: 'GET',
      path: /^\/api\/v2\/current_user$/,
      // An application key works only with an API key of the same org (both headers).
      credential: (r) => (header(r, 'dd-api-key') ? (header(r, 'dd-application-key') ?? null) : null),
      live: (id, _r, fake) => {
        const p = fake.profile('datadog', id);
        const roles = plist(p, 'roles');
        return json(200, {
          data: {
            type: 'users',
            id: 'a1b2c3',
            attributes: { handle: pstr(p, 'handle', 'dev@example.com'), name: 'Dev', email: pstr(p, 'handle', 'dev@example.com'), status: 'Active' },
            relationships: { roles: { data: roles.map((_, i) => ({ type: 'roles', id: `role-${i}` })) } },
          },
          included: roles.map((name, i) => ({ type: 'roles', id: `role-${i}`, attributes: { name } })),
        });
      },
      dead: () => json(403, { errors: ['Forbidden'] }),
    },
  ];
}

const mailgunDomains = (key: string): Endpoint => ({
  method: 'GET',
  path: /^\/v3\/domains$/,
  credential: mailgunKey,
  live: (id, _r, fake) => {
    const p = fake.profile('mailgun', id);
    // A domain sending key may only send: every other call is refused (403).
    if (pbool(p, 'sendingKey')) return json(403, { message: 'Forbidden' });
    const names = plist(p, key);
    return json(200, {
      total_count: names.length,
      items: names.map((name) => ({ name, state: 'active', type: 'custom', is_disabled: false, created_at: 'Thu, 01 Jun 2023 00:00:00 GMT' })),
    });
  },
  dead: () => ({ status: 401, body: 'Forbidden' }),
});

const REACH_ENDPOINTS: Record<string, Endpoint[]> = {
  gitlab: [
    {
      method: 'GET',
      path: /^\/api\/v4\/personal_access_tokens\/self$/,
      credential: gitlabToken,
      live: (_id, _r, fake) => {
        const p = fake.profile('gitlab', _id);
        return json(200, {
          id: 4,
          name: pstr(p, 'name', 'ci token'),
          revoked: false,
          created_at: '2024-01-02T10:00:00.000Z',
          scopes: p.scopes ?? ['read_api'],
          user_id: 24,
          last_used_at: 'lastUsed' in p ? p.lastUsed : '2024-06-01T12:00:00.000Z',
          active: true,
          expires_at: 'expires' in p ? p.expires : '2025-01-02',
        });
      },
      dead: () => gitlab401,
    },
    {
      method: 'GET',
      path: /^\/api\/v4\/user$/,
      credential: gitlabToken,
      live: (id, _r, fake) => {
        const p = fake.profile('gitlab', id);
        // is_admin is only in an administrator's own answer.
        return json(200, {
          id: 24,
          username: pstr(p, 'username', `gl-${id.slice(-4)}`),
          name: 'Dev',
          state: 'active',
          bot: pbool(p, 'bot'),
          ...(pbool(p, 'admin') ? { is_admin: true } : {}),
        });
      },
      dead: () => gitlab401,
    },
    {
      method: 'DELETE',
      path: /^\/api\/v4\/personal_access_tokens\/self$/,
      credential: gitlabToken,
      live: (id, _r, fake) => {
        fake.revoke('gitlab', id);
        return { status: 204 };
      },
      dead: () => gitlab401,
    },
  ],
  slack: [
    {
      method: 'POST',
      path: /^\/api\/auth\.test$/,
      credential: slackToken,
      live: (id, _r, fake) => {
        const p = fake.profile('slack', id);
        return json(
          200,
          {
            ok: true,
            url: 'https://acme.slack.com/',
            team: pstr(p, 'team', 'Acme'),
            user: pstr(p, 'user', 'bot'),
            team_id: 'T0001',
            user_id: 'U0001',
            ...(p.botId ? { bot_id: p.botId } : {}),
            is_enterprise_install: pbool(p, 'enterprise'),
          },
          { 'x-oauth-scopes': pstr(p, 'scopes', 'chat:write'), 'x-accepted-oauth-scopes': '' },
        );
      },
      dead: () => json(200, { ok: false, error: 'token_revoked' }),
    },
    {
      method: 'POST',
      path: /^\/api\/auth\.revoke$/,
      credential: slackToken,
      live: (id, r, fake) => {
        // test=1 only pretends (auth.revoke's testing mode)
        if (new URLSearchParams(r.body).get('test') !== '1' && r.query.get('test') !== '1') fake.revoke('slack', id);
        return json(200, { ok: true, revoked: true });
      },
      dead: () => json(200, { ok: false, error: 'invalid_auth' }),
    },
  ],
  stripe: [
    {
      method: 'GET',
      path: /^\/v1\/account$/,
      credential: stripeKey,
      live: (id, _r, fake) => {
        const p = fake.profile('stripe', id);
        if (plist(p, 'denied').includes('account')) return stripeDenied('rak_account_read');
        return json(200, {
          id: pstr(p, 'account', 'acct_1Nv0FGQ9RKHgCVdK'),
          object: 'account',
          business_profile: { name: pstr(p, 'name', 'Acme Inc') },
          country: 'US',
          charges_enabled: true,
          payouts_enabled: true,
          email: 'billing@example.com',
        });
      },
      dead: () => stripe401,
    },
    {
      method: 'GET',
      path: /^\/v1\/(customers|charges|payouts|balance)$/,
      credential: stripeKey,
      live: (id, r, fake) => {
        const what = r.path.slice('/v1/'.length);
        const p = fake.profile('stripe', id);
        if (plist(p, 'denied').includes(what)) return stripeDenied(`rak_${what.replace(/s$/, '')}_read`);
        if (what === 'balance')
          return json(200, { object: 'balance', available: [{ amount: 0, currency: 'usd' }], pending: [], livemode: id.includes('_live_') });
        return stripeList(`/v1/${what}`);
      },
      dead: () => stripe401,
    },
  ],
  npm: [
    {
      method: 'GET',
      path: /^\/-\/whoami$/,
      credential: bearer,
      live: (id, _r, fake) => json(200, { username: pstr(fake.profile('npm', id), 'username', `npm-${id.slice(-4)}`) }),
      dead: () => json(401, { error: 'Unauthorized' }),
    },
    {
      method: 'GET',
      path: /^\/-\/user\/[^/]+\/package$/,
      credential: bearer,
      live: (id, r, fake) => {
        const p = fake.profile('npm', id);
        const who = decodeURIComponent(r.path.split('/')[3] ?? '');
        // { "<package>": "write" | "read" } for that user's packages (libnpmaccess getPackages)
        return json(200, who === pstr(p, 'username', `npm-${id.slice(-4)}`) ? (p.packages ?? {}) : {});
      },
      dead: () => json(401, { error: 'Unauthorized' }),
    },
    {
      // Token List: a Page of the account's Token objects, `token` redacted, `key` the hex SHA-512 of the token
      // (npm/registry docs/user/authentication.md); perPage 1-9999 (default 10), page from 0, 400 when out of range.
      method: 'GET',
      path: /^\/-\/npm\/v1\/tokens$/,
      credential: bearer,
      live: (id, r, fake) => {
        const perPage = Number(r.query.get('perPage') ?? '10');
        const page = Number(r.query.get('page') ?? '0');
        if (!Number.isInteger(perPage) || perPage < 1 || perPage > 9999 || !Number.isInteger(page) || page < 0) return json(400, { error: 'invalid page' });
        const all = npmAccountTokens(fake, id).map((t) => npmTokenObject(fake, t));
        const objects = all.slice(page * perPage, (page + 1) * perPage);
        const more = (page + 1) * perPage < all.length;
        return json(200, { total: all.length, objects, urls: more ? { next: `/-/npm/v1/tokens?perPage=${perPage}&page=${page + 1}` } : {} });
      },
      dead: () => json(401, { error: 'Unauthorized' }),
    },
    {
      // Token Delete: 204; the key is the token's (or, as `npm token revoke` sends it, the token itself). An account
      // whose two-factor authentication covers writes wants an npm-otp header (401 + WWW-Authenticate: OTP).
      method: 'DELETE',
      path: /^\/-\/npm\/v1\/tokens\/token\/[^/]+$/,
      credential: bearer,
      live: (id, r, fake) => {
        if (fake.profile('npm', id).tfa === 'auth-and-writes' && !header(r, 'npm-otp'))
          return json(401, { error: 'You must provide a one-time pass. Upgrade your client to npm@latest in order to use 2FA.' }, { 'www-authenticate': 'OTP' });
        const key = decodeURIComponent(r.path.split('/').at(-1)!);
        const target = npmAccountTokens(fake, id).find((t) => t === key || npmTokenKey(fake, t) === key);
        if (!target) return json(404, { error: 'Not found' });
        fake.revoke('npm', target);
        return { status: 204 };
      },
      dead: () => json(401, { error: 'Unauthorized' }),
    },
  ],
  openai: [
    {
      method: 'GET',
      path: /^\/v1\/models$/,
      credential: bearer,
      live: (id, _r, fake) => {
        const p = fake.profile('openai', id);
        return json(
          200,
          { object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 1715367049, owned_by: 'system' }] },
          {
            'openai-organization': pstr(p, 'org', 'org-example'),
            'openai-processing-ms': '21',
            'openai-version': '2020-10-01',
            ...(p.project ? { 'openai-project': p.project as string } : {}),
          },
        );
      },
      dead: () => json(401, { error: { message: 'Incorrect API key provided: sk-****.', type: 'invalid_request_error', code: 'invalid_api_key' } }),
    },
    {
      method: 'GET',
      path: /^\/v1\/organization\/projects$/,
      credential: bearer,
      live: (id, r, fake) => {
        if (!id.startsWith('sk-admin-'))
          return json(403, { error: { message: 'You have insufficient permissions for this operation.', type: 'invalid_request_error' } });
        const names = plist(fake.profile('openai', id), 'projects');
        return cursorPage(
          names.map((name, i) => ({ id: `proj_${i}`, object: 'organization.project', name, status: 'active' })),
          r,
          'after',
        );
      },
      dead: () => json(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }),
    },
  ],
  anthropic: [
    {
      method: 'GET',
      path: /^\/v1\/models$/,
      credential: anthropicKey,
      live: (id, _r, fake) =>
        json(
          200,
          { data: [{ id: 'claude-sonnet-4', type: 'model' }], has_more: false },
          { 'anthropic-organization-id': pstr(fake.profile('anthropic', id), 'org', 'org-0000') },
        ),
      dead: () => anthropic401,
    },
    {
      method: 'GET',
      path: /^\/v1\/organizations\/(me|workspaces)$/,
      credential: anthropicKey,
      live: (id, r, fake) => {
        if (!id.startsWith('sk-ant-admin')) return json(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
        const p = fake.profile('anthropic', id);
        if (r.path.endsWith('/me')) return json(200, { id: pstr(p, 'org', 'org-0000'), type: 'organization', name: pstr(p, 'name', 'Acme') });
        return cursorPage(
          plist(p, 'workspaces').map((name, i) => ({ id: `wrkspc_${i}`, type: 'workspace', name })),
          r,
          'after_id',
        );
      },
      dead: () => anthropic401,
    },
  ],
  sendgrid: [
    {
      method: 'GET',
      path: /^\/v3\/(scopes|user\/account)$/,
      credential: bearer,
      live: (id, r, fake) => {
        const scopes = plist(fake.profile('sendgrid', id), 'scopes');
        const have = scopes.length ? scopes : ['mail.send'];
        if (r.path === '/v3/scopes') return json(200, { scopes: have });
        return have.includes('user.account.read')
          ? json(200, { type: 'paid', reputation: 99.7 })
          : json(403, { errors: [{ field: null, message: 'access forbidden' }] });
      },
      dead: () => json(401, { errors: [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked' }] }),
    },
  ],
  twilio: [
    {
      method: 'GET',
      path: /^\/2010-04-01\/Accounts(\/AC[0-9a-f]{32})?\.json$/,
      credential: twilioSecret,
      live: (id, r, fake) => {
        const p = fake.profile('twilio', id);
        const main = pstr(p, 'account', `AC${'0'.repeat(32)}`);
        const subs = plist(p, 'subaccounts');
        const all = [
          twilioAccount(main, pstr(p, 'name', 'Acme'), pstr(p, 'type', 'Full'), main),
          ...subs.map((s, i) => twilioAccount(s, `sub ${i}`, 'Full', main)),
        ];
        const one = /\/(AC[0-9a-f]{32})\.json$/.exec(r.path)?.[1];
        if (one) {
          const a = all.find((x) => x.sid === one);
          return a ? json(200, a) : json(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
        }
        const size = Number(r.query.get('PageSize') ?? 50);
        const page = Number(r.query.get('Page') ?? 0);
        const slice = all.slice(page * size, (page + 1) * size);
        const more = (page + 1) * size < all.length;
        return json(200, {
          accounts: slice,
          first_page_uri: `/2010-04-01/Accounts.json?PageSize=${size}&Page=0`,
          next_page_uri: more ? `/2010-04-01/Accounts.json?PageSize=${size}&Page=${page + 1}&PageToken=PA${page + 1}` : null,
          page,
          page_size: size,
          uri: r.rawUrl,
        });
      },
      dead: () => twilio401,
    },
  ],
  mailgun: [mailgunDomains('domains')],
  'mailgun-eu': [mailgunDomains('euDomains')],
  shopify: [
    {
      method: 'GET',
      path: /^\/admin\/oauth\/access_scopes\.json$/,
      credential: (r) => header(r, 'x-shopify-access-token') ?? null,
      live: (id, _r, fake) => json(200, { access_scopes: plist(fake.profile('shopify', id), 'scopes').map((handle) => ({ handle })) }),
      dead: () => json(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' }),
    },
    {
      method: 'GET',
      path: /^\/admin\/api\/\d{4}-\d{2}\/shop\.json$/,
      credential: (r) => header(r, 'x-shopify-access-token') ?? null,
      live: (id, r, fake) => {
        const p = fake.profile('shopify', id);
        const host = String(r.headers.host ?? 'acme.myshopify.com').replace(/:\d+$/, '');
        return json(200, {
          shop: {
            id: 548380009,
            name: pstr(p, 'name', 'Acme Store'),
            email: 'owner@example.com',
            domain: host,
            myshopify_domain: pstr(p, 'shop', host),
            plan_name: pstr(p, 'plan', 'basic'),
            country_code: 'US',
          },
        });
      },
      dead: () => json(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' }),
    },
  ],
  heroku: [
    {
      method: 'GET',
      path: /^\/(account|apps)$/,
      credential: bearer,
      live: (id, r, fake) => {
        const p = fake.profile('heroku', id);
        const email = pstr(p, 'email', `h${id.slice(-4)}@example.com`);
        if (r.path === '/apps')
          return json(
            200,
            plist(p, 'apps').map((name, i) => ({
              id: `01234567-89ab-cdef-0123-4567890abc${String(i).padStart(2, '0')}`,
              name,
              owner: { email },
              region: { name: 'us' },
            })),
          );
        return json(200, { email, id: '01234567-89ab-cdef-0123-456789abcdef', verified: true, two_factor_authentication: p.twoFactor !== false });
      },
      dead: () => heroku401,
    },
  ],
  digitalocean: [
    {
      method: 'GET',
      path: /^\/v2\/(account|droplets|projects)$/,
      credential: bearer,
      live: (id, r, fake) => {
        const p = fake.profile('digitalocean', id);
        const what = r.path.slice('/v2/'.length);
        if (what === 'account')
          return json(200, {
            account: {
              droplet_limit: 25,
              email: pstr(p, 'email', `d${id.slice(-4)}@example.com`),
              uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef',
              email_verified: true,
              status: 'active',
              ...(p.team ? { team: { uuid: '5df3e3004a17e242b7c20ca6c9fc25b701a47ece', name: p.team as string } } : {}),
            },
          });
        const names = plist(p, what);
        const per = Number(r.query.get('per_page') ?? 20);
        const page = Number(r.query.get('page') ?? 1);
        const slice = names.slice((page - 1) * per, page * per).map((name, i) => ({ id: (page - 1) * per + i + 1, name }));
        // absolute links to the host the request was addressed to (https://api.digitalocean.com/v2/… on the real API)
        const next = page * per < names.length ? `http://${String(r.headers.host)}/digitalocean/v2/${what}?page=${page + 1}&per_page=${per}` : undefined;
        return json(200, { [what]: slice, links: { pages: next ? { next } : {} }, meta: { total: names.length } });
      },
      dead: () => do401,
    },
  ],
  huggingface: [
    {
      method: 'GET',
      path: /^\/api\/whoami-v2$/,
      credential: bearer,
      live: (id, _r, fake) => {
        const p = fake.profile('huggingface', id);
        return json(200, {
          type: 'user',
          id: '6400a1b2c3d4e5f6a7b8c9d0',
          name: pstr(p, 'name', `hf-${id.slice(-4)}`),
          fullname: 'Dev',
          email: 'dev@example.com',
          emailVerified: true,
          isPro: false,
          orgs: plist<{ name: string; roleInOrg: string }>(p, 'orgs').map((o) => ({ type: 'org', name: o.name, fullname: o.name, roleInOrg: o.roleInOrg })),
          auth: {
            type: 'access_token',
            accessToken: { displayName: pstr(p, 'tokenName', 'ci'), role: pstr(p, 'role', 'read'), createdAt: '2024-05-01T10:00:00.000Z' },
          },
        });
      },
      dead: () => hf401,
    },
  ],
  'aws-iam': [
    {
      method: 'POST',
      path: /^\/$/,
      credential: (r, fake) => awsSigV4(r, fake, 'iam'),
      live: (id, r, fake) => iamAnswer(id, r, fake),
      dead: () => ({
        status: 403,
        headers: { 'content-type': 'text/xml' },
        body: '<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>',
      }),
    },
  ],
  datadog: datadogSite(),
  'datadog-eu1': datadogSite(),
  'datadog-us3': datadogSite(),
  'datadog-us5': datadogSite(),
  'datadog-ap1': datadogSite(),
  'datadog-gov': datadogSite(),
};
for (const [issuer, eps] of Object.entries(REACH_ENDPOINTS)) ENDPOINTS[issuer] = [...eps, ...(ENDPOINTS[issuer] ?? [])];

/**
 * Fake issuers that play another host of a real issuer, and the override key an operator would set for that host
 * (`issuers.<id>.hosts.<name>`). Twilio's API host is the same fake as its Verify host.
 */
export const HOST_FAKES: Record<string, { fake: string; key: string }[]> = {
  datadog: ['eu1', 'us3', 'us5', 'ap1', 'gov'].map((site) => ({ fake: `datadog-${site}`, key: `datadog:${site}` })),
  aws: [{ fake: 'aws-iam', key: 'aws:iam' }],
  mailgun: [{ fake: 'mailgun-eu', key: 'mailgun:eu' }],
  twilio: [{ fake: 'twilio', key: 'twilio:api' }],
};
/** Fakes that only play a host of another issuer (not an issuer id of their own). */
const HOST_ONLY = new Set(Object.entries(HOST_FAKES).flatMap(([issuer, hosts]) => hosts.map((h) => h.fake).filter((f) => f !== issuer)));

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

export class FakeIssuer implements KeyMaterial {
  readonly requests: RecordedRequest[] = [];
  /** AWS key id → secret access key; identity returned when live. */
  readonly aws = new Map<string, string>();
  readonly awsIdentity = new Map<string, { account: string; arn: string }>();
  /** Azure account → base64 key. */
  readonly azure = new Map<string, string>();
  /** GCP client_email → public key PEM. */
  readonly gcp = new Map<string, string>();
  /** GitHub App id → public key PEM. */
  readonly githubApps = new Map<string, string>();
  /** Seconds sent in Retry-After for the '429' behaviour. */
  retryAfter = '30';
  /** A credential id is live once registered here (or given another behaviour). Unregistered credentials are dead. */
  private readonly keys = new Map<string, Behaviour>();
  private readonly profiles = new Map<string, Record<string, unknown>>();
  /** Keys revoked through an issuer's revoke route, in order. */
  readonly revocations: Array<{ issuer: string; credential: string }> = [];
  private readonly issuerBehaviour = new Map<string, Behaviour>();
  private readonly stalled = new Set<http.ServerResponse>();
  private server!: http.Server;
  url = '';

  static async start(): Promise<FakeIssuer> {
    const f = new FakeIssuer();
    f.server = http.createServer((req, res) => void f.handle(req, res));
    await new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve));
    f.url = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}`;
    return f;
  }

  baseUrl(issuer: string): string {
    return `${this.url}/${issuer}`;
  }

  /**
   * Overrides for every issuer the fake plays, as an operator would write them in the operator config (loopback
   * http: --allow-insecure-issuers), with `<id>:<host>` for an issuer's other hosts (issuers.<id>.hosts.<host>).
   */
  baseUrls(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const i of Object.keys(ENDPOINTS)) if (!HOST_ONLY.has(i)) out[i] = this.baseUrl(i);
    for (const hosts of Object.values(HOST_FAKES)) for (const h of hosts) out[h.key] = this.baseUrl(h.fake);
    return out;
  }

  /** What the issuer knows about a key (scopes, account, resources …): the reach routes answer from it. */
  setProfile(issuer: string, credential: string, profile: Record<string, unknown>): void {
    this.profiles.set(`${issuer}\0${credential}`, profile);
  }

  profile(issuer: string, credential: string): Record<string, unknown> {
    return this.profiles.get(`${issuer}\0${credential}`) ?? {};
  }

  /** The credentials of an issuer that are live (an account's token list). */
  liveCredentials(issuer: string): string[] {
    return [...this.keys].filter(([k, b]) => b === 'live' && k.startsWith(`${issuer}\0`)).map(([k]) => k.slice(issuer.length + 1));
  }

  /** The issuer revoked the key (its own revoke API was called): dead from now on, and recorded. */
  revoke(issuer: string, credential: string): void {
    this.keys.set(`${issuer}\0${credential}`, 'dead');
    this.revocations.push({ issuer, credential });
  }

  /** `credential` is what the issuer reads: the token itself, the AWS key id, the Azure account, the GCP email, the App id. */
  setKey(issuer: string, credential: string, behaviour: Behaviour = 'live'): void {
    this.keys.set(`${issuer}\0${credential}`, behaviour);
  }

  /** Behaviour for every request to an issuer, whatever the key (outage, rate limit…). */
  setIssuer(issuer: string, behaviour: Behaviour | undefined): void {
    if (behaviour) this.issuerBehaviour.set(issuer, behaviour);
    else this.issuerBehaviour.delete(issuer);
  }

  /** True when a hand-written endpoint (real issuer behaviour) serves this method and path. */
  static knows(issuer: string, method: string, renderedPath: string): boolean {
    const p = renderedPath.split('?')[0]!;
    return !!ENDPOINTS[issuer]?.some((e) => e.method === method && e.path.test(p));
  }

  reset(): void {
    this.requests.length = 0;
    this.keys.clear();
    this.profiles.clear();
    this.revocations.length = 0;
    this.issuerBehaviour.clear();
  }

  requestsFor(issuer: string): RecordedRequest[] {
    return this.requests.filter((r) => r.issuer === issuer);
  }

  async close(): Promise<void> {
    for (const r of this.stalled) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const rawUrl = req.url ?? '/';
    const m = /^\/([a-z0-9-]+)(\/[^?]*)?(\?.*)?$/.exec(rawUrl);
    const issuer = m?.[1] ?? '';
    const path = m?.[2] ?? '/';
    const query = new URLSearchParams(m?.[3]?.slice(1) ?? '');
    const method = req.method ?? 'GET';
    this.requests.push({ issuer, method, path: path + (m?.[3] ?? ''), rawUrl, headers: req.headers, body, at: performance.now() });
    const r: Req = { method, path, query, headers: req.headers, body, rawUrl };

    const endpoint = (ENDPOINTS[issuer] ?? []).find((e) => e.method === method && e.path.test(path));
    if (!endpoint) return this.send(res, json(404, { message: 'Not Found' }));
    const cred = endpoint.credential(r, this);
    let behaviour = this.issuerBehaviour.get(issuer);
    if (!behaviour) {
      if (cred === null || cred === '') return this.send(res, endpoint.dead(r));
      if (typeof cred === 'object') return this.send(res, cred.invalid);
      behaviour = this.keys.get(`${issuer}\0${cred}`) ?? 'dead';
    }
    switch (behaviour) {
      case 'live':
        return this.send(res, endpoint.live(typeof cred === 'string' ? cred : '', r, this));
      case 'dead':
        return this.send(res, endpoint.dead(r));
      case '429':
        return this.send(res, json(429, { message: 'rate limited' }, { 'retry-after': this.retryAfter }));
      case '5xx':
        return this.send(res, { status: 503, body: 'upstream unavailable' });
      case 'malformed':
        return this.send(res, { status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>maintenance</body></html>' });
      case 'redirect':
        return this.send(res, { status: 302, headers: { location: `${this.url}/elsewhere/` }, body: '' });
      case 'slow':
        // Hold the response until the client gives up (or close()).
        this.stalled.add(res);
        res.on('close', () => this.stalled.delete(res));
        return;
    }
  }

  private send(res: http.ServerResponse, r: Resp): void {
    const isObj = typeof r.body === 'object';
    const text = isObj ? JSON.stringify(r.body) : (r.body ?? '');
    res.writeHead(r.status, { 'content-type': isObj ? 'application/json' : 'text/plain', ...r.headers });
    res.end(text);
  }
}
