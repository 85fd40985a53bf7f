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
  const err = (code: string, msg: string) => ({
    invalid: { status: 403, headers: { 'content-type': 'text/xml' }, body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${msg}</Message></Error></ErrorResponse>` },
  });
  const auth = header(req, 'authorization') ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return err('MissingAuthenticationToken', 'Request is missing Authentication Token');
  const [, keyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
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
  const kSigning = hmac(hmac(hmac(hmac('AWS4' + secret, date!), region!), service!), 'aws4_request');
  const expected = createHmac('sha256', kSigning).update(toSign).digest('hex');
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature!)))
    return err('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  if (!/Action=GetCallerIdentity/.test(req.body)) return { invalid: { status: 400, body: '<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>' } };
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

  /** Overrides for every issuer the fake plays, as an operator would write them in the operator config (loopback http: --allow-insecure-issuers). */
  baseUrls(): Record<string, string> {
    return Object.fromEntries(Object.keys(ENDPOINTS).map((i) => [i, this.baseUrl(i)]));
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
