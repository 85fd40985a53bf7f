// The false-positive filter table: every rule the engine applies to a candidate secret, in order, as data. An entry
// says which detectors it applies to, what it looks at (the value, its key, the text before or after it on the line,
// the path class), why it drops a candidate, and the samples that motivated it: a decoy it must silence and a real
// value in the same place that must still be found (test/filter-table.test.ts runs each through the real engine
// and checks that this entry is what silences the decoy). Patterns run on RE2 (filters.ts compiles them): the line
// and value come from scanned content. Sample placeholders (⟦name:generator⟧) are filled at test time by
// corpus/formats-builder.ts, so no sample holds a credential.

/** Path class bits a filter can ask for (filters.ts pathClass). */
export type PathClassName = 'lockfile' | 'code' | 'minified';

/** Checks too structural for a pattern, implemented in filters.ts. */
export type FilterCheck =
  | 'trivial-sequence'
  | 'data-uri'
  | 'ssh-public-key'
  | 'typed-sequence'
  | 'path-like'
  | 'entropy-floor'
  | 'key-block-body'
  | 'repeats-key'
  | 'after-closing-quote';

export interface FilterSample {
  /** Path the content is scanned as. */
  path: string;
  /** Content the entry must silence (nothing is reported, and this entry is among the reasons). */
  decoy: string;
  /** The same place holding a real-looking secret (⟦s:generator⟧), which `detector` must still report. */
  control: string;
  detector: string;
  /** Why no built-in detector can produce the decoy's candidate (the entry guards custom catalogs). */
  unreached?: string;
}

export interface FilterEntry {
  id: string;
  /** Why a candidate is dropped (shown by `explain`, `detectors check`). A check may give its own. */
  reason: string;
  /** The detectors it judges: all, generic (keyword/assignment guesses) only, or provider detectors only. */
  scope: 'all' | 'generic' | 'provider';
  /** RE2 over the value without surrounding quotes. */
  value?: string;
  /** RE2 that the value must not match. */
  notValue?: string;
  /** Exact values (public documentation keys). */
  values?: readonly string[];
  /** Substrings (parts of widely copied documentation tokens). */
  contains?: readonly string[];
  /** RE2 over the key of the assignment holding the value (the last word before it on the line). */
  key?: string;
  notKey?: string;
  /** RE2 over the line before the value, and after it. */
  before?: string;
  after?: string;
  /** RE2 over the whole line (bounded to 512 bytes either side of the value). */
  line?: string;
  /** Only for paths of one of these classes. */
  paths?: readonly PathClassName[];
  /** Only in a minified bundle: a minified path, or a line over 1000 characters. */
  minified?: boolean;
  /** Only when the value is (not) written right after a quote. */
  quoted?: boolean;
  /** Only when the key is (not) one people choose a value for: password, pwd, passphrase. */
  human?: boolean;
  check?: FilterCheck;
  samples: readonly FilterSample[];
}

/** Shapes of provider tokens: a generic match starting like one was rejected by its provider detector. */
const PROVIDER_PREFIX = String.raw`(?i)^(?:gh[pousr]_|github_pat_|glpat-|gl[a-z]{2,6}-|npm_|xox[abeprs]-|xapp-|sk_(?:live|test)_|rk_live_|whsec_|sk-(?:proj|ant|or)-|AKIA|ASIA|ABIA|ACCA|AIza|SG\.|hf_|pypi-|dop_v1_|doo_v1_|dor_v1_|shp(?:at|ca|pa|ss)_|EAAA|sq0(?:atp|csp)-|HRKU-|PMAK-|dckr_(?:pat|oat)_|rubygems_|oy2|lin_(?:api|oauth)_|ntn_|dapi|hv[sb]\.|age-secret-key-1|sntry[su]_|glc_|glsa_|NRAK-|nfp_|sbp_|sb_secret_|r8_|gsk_|pplx-|xai-|figd_|CFPAT-|pscale_|pul-|bkua_|CCIPAT_|sq[pau]_|rnd_|tfp_)`;

/** camelCase/snake identifiers and dotted member chains with at most a short number per segment. */
const CODE_IDENTIFIER = String.raw`[A-Za-z_$][A-Za-z_$]*\d{0,3}`;

export const FILTER_TABLE: readonly FilterEntry[] = [
  // ---- Placeholders and templates (every detector) -------------------------------------------------------------
  {
    id: 'template',
    reason: 'template or variable reference',
    scope: 'all',
    // shell/compose/helm/jinja/python-format/angle-bracket/Windows/Ruby/Maven/wiki variables, as the whole value
    value: String.raw`^(?:\$\{[^}]*\}|\$\(.*\)|\{\{.*\}\}|\{%.*%\}|%\(\w+\)[sd]|<[^>]+>|\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%|#\{[^}]*\}|@[A-Za-z_][A-Za-z0-9_]*@|\[\[.*\]\])$`,
    samples: [
      { path: 'a.env', decoy: 'DB_PASSWORD=${DB_PASSWORD}', control: 'DB_PASSWORD=⟦s:password⟧', detector: 'generic-password-assignment' },
      { path: 'settings.py', decoy: "DATABASES = {'default': {'PASSWORD': '%(db_password)s'}}", control: "DATABASES = {'default': {'PASSWORD': '⟦s:password⟧'}}", detector: 'generic-password-assignment' },
    ],
  },
  {
    id: 'embedded-template',
    reason: 'template expression',
    scope: 'all',
    // `${…}` anywhere (JS interpolation of any expression), `{{ x }}`, `%(x)s`, an opener the capture cut short, or
    // a shell environment variable composed into a path or address (`$PWD:/data`, `$HOME/.pgpass`)
    value: String.raw`\$\{[^{}\n]{1,100}\}|\{\{\s*[.$]?[\w.\s|"'()-]+\}\}|%\([\w]+\)s|^[#$]\{|^\$[A-Z][A-Z0-9_]+[:/]`,
    samples: [
      { path: 'run.sh', decoy: 'export DB_PASSWORD="$PWD:/run/secrets/db"', control: 'export DB_PASSWORD="⟦s:password⟧"', detector: 'generic-password-assignment' },
      { path: 'a.env', decoy: 'DB_PASSWORD=app_${DEPLOY_ENV}_pw', control: 'DB_PASSWORD=⟦s:password⟧', detector: 'generic-password-assignment' },
      { path: 'values.yaml', decoy: 'password: "pg-{{.Values.suffix}}"', control: 'password: "⟦s:password⟧"', detector: 'generic-password-assignment' },
    ],
  },
  {
    id: 'mask',
    reason: 'masked or filler value',
    scope: 'all',
    // `x{4,}` is ~1e-4 likely in a random 100-character base62 token: accepted
    value: String.raw`(?i)x{4,}|\*{3,}|•{3,}|…|\.{3,}|#{4,}|_{5,}`,
    samples: [{ path: 'a.env', decoy: 'API_TOKEN=Tk29Qw7Lm3Zp0Vbxxxx\nDB_PASSWORD=Tr7kq2Wz****', control: 'API_TOKEN=⟦s:alnum/32⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'documented-key',
    reason: 'documentation example key',
    scope: 'all',
    // AWS docs, Azurite's emulator key, Stripe's, SendGrid's, Slack's and Google's docs keys; the example tokens of
    // RFC 6749 (OAuth 2.0: code, access, refresh token, client secret) and RFC 6750 copied into docstrings
    values: [
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
      '2YotnFZFEjr1zCsicMWpAA',
      'tGzv3JOkF0XG5Qx2TlKWIA',
      'SplxlOBeZQQYbYS6WxSbIA',
      '7Fjfp0ZBr1KtDRbnfVdmIw',
      '8xLOxBtZp8',
      'mF_9.B5f-4.1JqM',
    ],
    samples: [
      {
        path: 'credentials',
        decoy: 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        control: 'aws_access_key_id = ⟦k:aws-key-id⟧\naws_secret_access_key = ⟦s:aws-secret⟧',
        detector: 'aws-secret-access-key',
      },
      {
        path: 'requests_oauthlib/oauth2_session.py',
        decoy: '    >>> token = {"access_token": "2YotnFZFEjr1zCsicMWpAA", "refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA"}',
        control: '    >>> token = {"access_token": "⟦s:alnum/22⟧", "token_type": "Bearer"}',
        detector: 'generic-secret-assignment',
      },
    ],
  },
  {
    id: 'documented-token-part',
    reason: 'documentation example key',
    scope: 'all',
    // the jwt.io example token's payload and signature
    contains: ['eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ', 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'],
    samples: [
      {
        path: 'README.md',
        decoy: 'Authorization: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
        control: 'Authorization: ⟦s:jwt⟧',
        detector: 'jwt-token',
      },
    ],
  },
  {
    id: 'example-suffix',
    reason: 'documentation example key',
    scope: 'all',
    value: String.raw`EXAMPLE(?:KEY)?$`,
    samples: [{ path: 'credentials', decoy: 'aws_access_key_id = AKIAJ7Q2X5ZB4EXAMPLE', control: 'aws_secret_access_key = ⟦t:aws-secret⟧\naws_access_key_id = ⟦s:aws-key-id⟧', detector: 'aws-access-key-id' }],
  },
  {
    id: 'placeholder',
    reason: 'placeholder',
    scope: 'all',
    value: String.raw`(?i)changeme|change[_-]me|your[_-]?(?:own[_-]?)?(?:api[_-]?|access[_-]?|secret[_-]?|auth[_-]?|app[_-]?|client[_-]?)?(?:key|token|secret|password|pass)|example|placeholder|redacted|replace[_-]?(?:me|this|with)|insert[_-]?(?:your|key|token|here)|put[_-]?your|enter[_-]?your|goes[_-]?here|(?:key|token|secret|password|pass)[_-]?here|not[_-]?a[_-]?real|do[_-]?not[_-]?use|dummy`,
    samples: [{ path: 'a.env', decoy: 'DB_PASSWORD=changeme-in-prod\nOPENAI_API_KEY=your_api_key', control: 'DB_PASSWORD=⟦s:password⟧', detector: 'generic-password-assignment' }],
  },
  {
    id: 'trivial-sequence',
    reason: 'trivial sequence',
    scope: 'all',
    check: 'trivial-sequence',
    samples: [{ path: 'a.env', decoy: 'CLIENT_SECRET=abcdefghijklmnopqrstuvwx', control: 'CLIENT_SECRET=⟦s:alnum/24⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'env-reference',
    reason: 'environment or config reference',
    scope: 'all',
    value: String.raw`^(?:process\.env|import\.meta\.env|Deno\.env|Bun\.env|os\.environ|os\.getenv|getenv|System\.getenv|System\.getProperty|Environment\.GetEnvironmentVariable|ENV\[|ENV\.fetch|env\(|\$_ENV|\$_SERVER|secrets\.|vars\.|env\.|settings\.|config\.|Config\.|this\.|self\.|props\.|ctx\.|context\.)`,
    samples: [{ path: 'a.ts', decoy: 'const apiKey = process.env.API_KEY_FOR_PAYMENTS;', control: 'const apiKey = "⟦s:alnum/32⟧";', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'integrity-hash',
    reason: 'integrity hash',
    scope: 'all',
    value: String.raw`(?i)^(?:sha(?:1|256|384|512)-[A-Za-z0-9+/]{20,}={0,2}$|(?:sha1|sha224|sha256|sha384|sha512|md5|blake2b|h1):)`,
    samples: [{ path: 'assets.json', decoy: '{"file": "/a.js", "api_key_sri": "sha384-⟦h:b64/48⟧"}', control: '{"file": "/a.js", "api_key": "⟦s:alnum/32⟧"}', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'data-uri',
    reason: 'inside a data: URI',
    scope: 'all',
    check: 'data-uri',
    samples: [
      {
        path: 'a.css',
        decoy: '.a { background: url("data:image/png;base64,⟦h:b64/300⟧/AIza⟦g:ident/35⟧"); }',
        control: '.a { background: url("https://maps.googleapis.com/maps/api/staticmap?key=AIza⟦s:alnum/35⟧"); }',
        detector: 'google-api-key',
      },
    ],
  },
  {
    id: 'ssh-public-key',
    reason: 'SSH public key',
    scope: 'all',
    check: 'ssh-public-key',
    samples: [
      {
        path: 'authorized_keys',
        decoy: 'environment="DEPLOY_SECRET=AAAAC3NzaC1lZDI1NTE5AAAAI⟦h:ident/43⟧" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI⟦h⟧ deploy@ci',
        control: 'environment="DEPLOY_SECRET=⟦s:alnum/40⟧" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI⟦h:ident/43⟧ deploy@ci',
        detector: 'generic-secret-assignment',
      },
    ],
  },
  {
    id: 'public-block',
    reason: 'public key or certificate',
    scope: 'all',
    value: String.raw`-----BEGIN (?:CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|PGP PUBLIC KEY BLOCK|X509 CRL|CERTIFICATE REQUEST|NEW CERTIFICATE REQUEST)-----`,
    notValue: 'PRIVATE KEY',
    samples: [
      {
        path: 'a.crt',
        decoy: '-----BEGIN CERTIFICATE-----\n⟦h:b64/300⟧\n-----END CERTIFICATE-----',
        control: '⟦s:pkcs8-pem⟧',
        detector: 'private-key-pkcs8',
        unreached: 'no built-in detector captures a certificate block; the entry guards custom catalogs (--detectors)',
      },
    ],
  },
  {
    id: 'key-block-body',
    reason: 'key armor around code or prose, not key material',
    scope: 'all',
    // A private-key block whose body, once its carrier (quotes, `+`, escaped line breaks, indentation) and its
    // headers are taken away, is not base64: code that writes the armor (`result.push('-----BEGIN PGP PRIVATE
    // KEY BLOCK-----\n'); result.push(encode(body)); …`), or a truncated example in docs (`MIIEpQ… .`).
    check: 'key-block-body',
    samples: [
      {
        path: 'src/encoding/armor.js',
        decoy: [
          '    case enums.armor.privateKey:',
          "      result.push('-----BEGIN PGP PRIVATE KEY BLOCK-----\\n');",
          '      result.push(addheader(customComment, config));',
          '      result.push(base64.encode(body));',
          "      result.push('-----END PGP PRIVATE KEY BLOCK-----\\n');",
        ].join('\n'),
        control: 'const key = `⟦s:pgp-private⟧`;',
        detector: 'private-key-pgp',
      },
      {
        path: 'index.js',
        decoy: [
          "    private: '-----BEGIN PRIVATE KEY-----\\n' +",
          "      Buffer.from(privateKeyDer).toString('base64').match(/.{1,64}/g).join('\\n') +",
          "      '\\n-----END PRIVATE KEY-----\\n',",
        ].join('\n'),
        control: "    private: '⟦s:pkcs8-pem⟧',",
        detector: 'private-key-pkcs8',
      },
      {
        path: 'lib/rest/chat/v1/credential.d.ts',
        decoy: '    /** The private key, for example `-----BEGIN RSA PRIVATE KEY----- MIIEpQIBAAKCAQEA⟦h:b64/36⟧. -----END RSA PRIVATE KEY-----` */',
        control: '    /** The private key: ⟦s:rsa-pem⟧ */',
        detector: 'private-key-rsa',
      },
    ],
  },

  // ---- Provider detectors only ---------------------------------------------------------------------------------
  {
    id: 'lockfile-integrity',
    reason: 'lockfile integrity hash',
    scope: 'provider',
    // a provider token in a lockfile is real only outside the integrity/checksum fields (registry URLs can carry one)
    paths: ['lockfile'],
    line: String.raw`(?i)\bintegrity\b|\bresolved\b.*#|\bchecksum\b|\bshasum\b|\bsha(?:1|256|512)?sum\b|\bdigest\b|\bh1:|\bhash\b`,
    before: String.raw`(?:sha\d+-|h1:)[A-Za-z0-9+/=]*$`,
    samples: [
      {
        path: 'package-lock.json',
        decoy: '"integrity": "sha512-⟦h:b64/12⟧/⟦g:npm-token⟧"',
        control: '"resolved": "https://ci:⟦s:npm-token⟧@npm.pkg.github.com/pkg.tgz"',
        detector: 'npm-access-token',
      },
    ],
  },

  // ---- Generic detectors: the key says what the value is -------------------------------------------------------
  {
    id: 'reference-key',
    reason: 'key names a reference to a secret, not the secret',
    scope: 'generic',
    key: String.raw`(?i)(?:author|tokeniz\w*|(?:token|secret|key|credentials?|password)[_.-]?(?:url|uri|endpoint|type|expir\w*|ttl|lifetime|length|len|count|limit|name|names|id|ids|ref|arn|file|path|dir|header|field|param|version|provider|store|vault|ring|alias|size|prefix|env|var|label|policy|rotation\w*)|public[_.-]?key|pub[_.-]?key|site[_.-]?key|publishable[_.-]?key|key[_.-]?id|max[_.-]?tokens?|num[_.-]?tokens?|tokens?[_.-]?(?:used|usage|budget))$`,
    samples: [{ path: 'config.yaml', decoy: 'secret_name: prod-database-credentials-v2', control: 'secret_value: ⟦s:alnum/32⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'pagination-token',
    reason: 'key names a pagination cursor, not a credential',
    scope: 'generic',
    // API examples and docs: NextToken, nextPageToken, NextContinuationToken, ContinuationToken, StartingToken …
    key: String.raw`(?i)(?:next|continuation|pagination|page|starting|resume|sync|prev|previous)[a-z_.-]{0,12}token$`,
    samples: [
      {
        path: 'apis/securityhub-2018-10-26.examples.json',
        decoy: '      "output": {\n        "NextToken": "⟦n:b64/48⟧"\n      },',
        control: '      "output": {\n        "SessionToken": "⟦s:b64/48⟧"\n      },',
        detector: 'generic-secret-assignment',
      },
      {
        path: 'dist-types/commands/ListObjectsV2Command.d.ts',
        decoy: ' *   NextContinuationToken: "⟦n:b64/42⟧",',
        control: ' *   SessionToken: "⟦s:b64/30⟧",',
        detector: 'generic-secret-assignment',
      },
    ],
  },
  {
    id: 'state-key',
    reason: 'key names a state, rule or message about a secret, not the secret',
    scope: 'generic',
    // error-code tables and flags: PASSWORD_LOGIN_DISABLED:"operation-not-allowed", passwordRequired, PasswordLastUsed
    key: String.raw`(?i)(?:passw\w*|token|secret|credentials?)[\w.-]*?(?:disabled|enabled|required|used|exceed\w*|limit|changed|expired|mismatch|invalid|missing|not[_.-]?found|error|message|msg|hint|prompt|placeholder|strength|policies|rules?|visible|hidden|toggle|icon|min[_.-]?length|max[_.-]?length)$`,
    samples: [
      {
        path: 'firebase-auth-compat.js',
        decoy: 'var Ct={EMAIL_EXISTS:"email-already-in-use",PASSWORD_LOGIN_DISABLED:"operation-not-allowed",RESET_PASSWORD_EXCEED_LIMIT:"too-many-requests"};',
        control: 'var Ct={EMAIL_EXISTS:"email-already-in-use",PASSWORD:"⟦s:password⟧"};',
        detector: 'generic-password-assignment',
      },
      { path: 'logins.json', decoy: '{"timeLastUsed":1385417463000,"timePasswordChanged":1385417463000}', control: '{"timeLastUsed":1385417463000,"encryptedPassword":"⟦s:b64/48⟧"}', detector: 'generic-password-assignment' },
    ],
  },
  {
    id: 'secret-hash-key',
    reason: 'key names a hash or signature of a secret, not the secret',
    scope: 'generic',
    // signed URLs (`token-time=…&token-hash=…`), SECRET_HASH request parameters
    key: String.raw`(?i)(?:token|secret)[_.-]?hash$`,
    samples: [
      {
        path: 'README.md',
        decoy: ' * Sponsor ![](https://c10.patreonusercontent.com/3/⟦p:ident/20⟧/patreon-media/p/user/1/a.png?token-time=2145916800&token-hash=⟦h:b64/32⟧)',
        control: ' * Sponsor ![](https://c10.patreonusercontent.com/3/⟦p:ident/20⟧/patreon-media/p/user/1/a.png?access_token=⟦s:alnum/40⟧)',
        detector: 'generic-secret-assignment',
      },
    ],
  },
  {
    id: 'arn-resource',
    reason: 'a resource name inside an ARN, not a secret',
    scope: 'generic',
    // arn:aws:secretsmanager:us-east-1:012345678901:secret:myorg/myuser/TARGET.postgresql-A1B2C3
    before: String.raw`arn:aws[\w-]*:[\w-]+:[\w-]*:\d*:[\w-]+[:/]$`,
    samples: [
      {
        path: 'apis/dms-2016-01-01.examples.json',
        decoy: '         "SecretsManagerSecretId": "arn:aws:secretsmanager:us-east-1:012345678901:secret:myorg/myuser/TARGET.postgresql-A1B2C3"',
        control: '         "SecretString": "⟦s:alnum/40⟧"',
        detector: 'generic-secret-assignment',
      },
    ],
  },

  // ---- Generic detectors: values that are not literals ---------------------------------------------------------
  {
    id: 'weak-word',
    reason: 'placeholder word',
    scope: 'generic',
    value: String.raw`(?i)^(?:test(?:ing)?|secret|password|passwd|token|apikey|api[_-]?key|none|null|nil|undefined|true|false|empty|default|foo|bar|baz|foobar|qwerty|letmein|admin|root|user(?:name)?|pass|abc(?:123|def)?|123(?:456(?:78(?:9)?)?)?|sample|fake|mock|demo|todo|fixme|tbd|n/a|string|value|key|my[_-]?(?:secret|token|key|password|pass|api[_-]?key)\w*|\w+[_-](?:here|goes))$`,
    samples: [{ path: 'a.env', decoy: 'DB_PASSWORD=undefined', control: 'DB_PASSWORD=⟦s:password⟧', detector: 'generic-password-assignment' }],
  },
  {
    id: 'provider-prefix',
    reason: 'provider-format token its own detector rejected (truncated or bad checksum)',
    scope: 'generic',
    value: PROVIDER_PREFIX,
    samples: [{ path: 'a.env', decoy: 'DEPLOY_TOKEN=ghp_⟦h:alnum/20⟧', control: 'DEPLOY_TOKEN=⟦s:alnum/36⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'twilio-sid',
    reason: 'Twilio SID (an identifier)',
    scope: 'generic',
    value: String.raw`^(?:AC|SK|AP|PN|MG|MM|CA|SM)[0-9a-f]{32}$`,
    samples: [{ path: 'twilio.yaml', decoy: 'twilio_token_sid: ⟦h:twilio-sid⟧', control: 'twilio_token: ⟦s:hex/32⟧', detector: 'twilio-auth-token' }],
  },
  {
    id: 'typed-sequence',
    reason: 'typed sequence ("1234…abcd…")',
    scope: 'generic',
    check: 'typed-sequence',
    samples: [{ path: 'README.md', decoy: 'token: 1234567890abcdef12341234567890abcdef1234', control: 'token: ⟦s:hex/40⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'names-a-secret',
    reason: 'value names a secret instead of being one',
    scope: 'generic',
    // "existingtoken123", "mysecretpassword", and camelCase names of what goes there ("base64EncodedKey")
    value: String.raw`(?i)token|secret|passw|apikey|api_key|private_?key|(?-i:[a-z0-9](?:Key|Token|Secret|Password|Passphrase)$)`,
    samples: [
      { path: 'README.md', decoy: 'auth: { token: existingtoken123, apiKey: useraccesstoken123 }', control: 'auth: { token: ⟦s:alnum/24⟧ }', detector: 'generic-secret-assignment' },
      { path: 'README.md', decoy: "  auth: { apiKey: 'base64EncodedKey' }", control: "  auth: { apiKey: '⟦s:b64/24⟧' }", detector: 'generic-secret-assignment' },
    ],
  },
  {
    id: 'repeats-key',
    reason: 'value repeats its key (a placeholder)',
    scope: 'generic',
    // generated sample code: `"encryptionKeyShutdownDuration": "my_encryptionKeyShutdownDuration"`
    check: 'repeats-key',
    samples: [
      {
        path: 'build/src/apis/run/v2.d.ts',
        decoy: '         *       //   "encryptionKeyShutdownDuration": "my_encryptionKeyShutdownDuration",',
        control: '         *       //   "encryptionKey": "⟦s:b64/32⟧",',
        detector: 'generic-secret-assignment',
      },
    ],
  },
  {
    id: 'bracket-placeholder',
    reason: 'a bracketed name (a placeholder), not a secret',
    scope: 'generic',
    // API docs: "PASSWORD_CLAIM_SIGNATURE": "[claim_signature]"
    value: String.raw`^\[[A-Za-z_][\w .-]*\]$`,
    samples: [
      {
        path: 'clients/cognitoidentityserviceprovider.d.ts',
        decoy: '   * "ChallengeResponses": {"PASSWORD_CLAIM_SIGNATURE": "[claim_signature]", "PASSWORD_CLAIM_SECRET_BLOCK": "[secret_block]"}',
        control: '   * "ChallengeResponses": {"PASSWORD": "⟦s:alnum/16⟧"}',
        detector: 'generic-password-assignment',
      },
    ],
  },
  {
    id: 'path-like',
    reason: 'path-like value',
    scope: 'generic',
    check: 'path-like',
    samples: [{ path: 'deploy.yaml', decoy: 'token_secret: vaults/prod/payment-service/api-creds', control: 'token_secret: ⟦s:alnum/32⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'comparison',
    reason: 'a comparison, not an assignment',
    scope: 'generic',
    // `this.token===this.tok.T_DEFAULT`: the `=` the pattern took as an assignment starts `===`
    value: '^=',
    samples: [
      {
        path: 'src-min-noconflict/worker-php.js',
        decoy: 'read_match_arm_conds:function(){var t=[];if(this.token===this.tok.T_DEFAULT)t=null,this.next();return t}',
        control: 'read_match_arm_conds:function(){var t=[];this.token="⟦s:alnum/32⟧";return t}',
        detector: 'generic-secret-assignment',
      },
    ],
  },
  {
    id: 'code-expression',
    reason: 'code expression or identifier, not a literal',
    scope: 'generic',
    // calls and conditionals on the right of `password:` (`password:function(T){…}` in a vendored minified jQuery)
    quoted: false,
    value: '[()]',
    samples: [
      { path: 'README.md', decoy: 'password: signer.getDateTime()\nconst pass = { password: z.string().min(8) };', control: 'password: ⟦s:password⟧', detector: 'generic-password-assignment' },
      { path: 'test/vendor/jquery.js', decoy: 'var Expr={filters:{password:function(T){return T.type==="password"}}};', control: 'var Expr={filters:{password:"⟦s:alnum/14⟧"}};', detector: 'generic-password-assignment' },
    ],
  },
  {
    id: 'code-type-name',
    reason: 'code expression or identifier, not a literal',
    scope: 'generic',
    // a field typed `BinaryLike` in a source file: in code, an unquoted word is an identifier
    quoted: false,
    paths: ['code'],
    value: '^[A-Za-z_$][A-Za-z_$]*$',
    samples: [{ path: 'types.d.ts', decoy: 'interface Opts {\n  password: BinaryLike;\n  secret: kEnumerableProperty;\n}', control: 'const password = "⟦s:password⟧";', detector: 'generic-password-assignment' }],
  },
  {
    id: 'code-shape',
    reason: 'code, not a literal',
    scope: 'generic',
    // Unquoted in source code, bundles and source maps: a value that starts with an operator or bracket
    // (`{input:{`, `!response.enabled`, `[passphrase]`, `@translate`), holds brackets, a `;`, a `|` or an `=`
    // before a name (`_auth$split2[1]`, `Buffer|Uint8Array|string`, `T.a=T.b=…`, `n}=await`, `urlAuth[1] || ''`),
    // or is a member chain (`exports.iam_v2beta`, `Ae.number=Ae.tel`). A string literal in code is quoted.
    quoted: false,
    paths: ['code', 'minified'],
    value: String.raw`^[=+!{\[(@&|?*<>~^%:.]|[(){}\[\];|]|=[A-Za-z_$!]|=>|^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+`,
    samples: [
      {
        path: 'lib/adapters/http.js',
        decoy: "    const urlPassword = urlAuth[1] || '';\n    options.auth = { password: proxyUrlAuth[1] };",
        control: "    const urlPassword = '⟦s:password⟧';",
        detector: 'generic-password-assignment',
      },
      {
        path: 'clients/acm.d.ts',
        decoy: '  export type PassphraseBlob = Buffer|Uint8Array|Blob|string;\n  export type PasswordListInput = String[];',
        control: "  export const PassphraseBlob = '⟦s:password⟧';",
        detector: 'generic-password-assignment',
      },
      {
        path: 'dist/aws-sdk.min.js',
        decoy: 'ForgotPassword:{input:{type:"structure"}},Ae.password=Ae.number=Ae.tel,PasswordDataAvailable:{operation:"GetPasswordData"}',
        control: 'ForgotPassword:{input:{type:"structure"}},Ae.password="⟦s:password⟧"',
        detector: 'generic-password-assignment',
      },
      {
        path: 'build/src/index.js',
        decoy: 'exports.iam_v1 = exports.iamcredentials_v1 = exports.iam_v2beta = exports.hypercomputecluster_v1 = void 0;',
        control: 'exports.iamcredentials_v1 = "⟦s:alnum/32⟧";',
        detector: 'generic-secret-assignment',
      },
      { path: 'src/matching.coffee', decoy: '      subbed_password = @translate password, sub', control: "      subbed_password = '⟦s:alnum/16⟧'", detector: 'generic-password-assignment' },
      {
        path: 'dist/lightweight/openpgp.min.mjs.map',
        decoy: '{"sourcesContent":["const passphrases = util.isArray(passphrase) ? passphrase : [passphrase];\\n  const subkeyPassphrase = options.subkeys[index].passphrase;"]}',
        control: '{"sourcesContent":["const passphrase = \\"⟦s:password⟧\\";"]}',
        detector: 'generic-password-assignment',
      },
    ],
  },
  {
    id: 'code-identifier-statement',
    reason: 'code, not a literal',
    scope: 'generic',
    // `KdcAdminPassword: XmlStringMaxLen256;`, `exports.x = iamcredentials_v1 = {}`: a name ending a statement
    quoted: false,
    paths: ['code'],
    value: String.raw`^[A-Za-z_$][\w$]*$`,
    after: String.raw`^\s*(?:[;,)}\]]|=[^=]|=$)`,
    samples: [
      {
        path: 'clients/emr.d.ts',
        decoy: '  export interface KerberosAttributes {\n    KdcAdminPassword: XmlStringMaxLen256;\n  }',
        control: '  export const KdcAdminPassword = "⟦s:password⟧";',
        detector: 'generic-password-assignment',
      },
    ],
  },
  {
    id: 'after-closing-quote',
    reason: 'code after a closing quote (string concatenation), not a literal',
    scope: 'generic',
    // `throw "Mac: wrong hex password: "+h.hex`: the quote before the value closes a string
    quoted: true,
    value: String.raw`^\+\s*[A-Za-z_$][\w$]*`,
    check: 'after-closing-quote',
    samples: [
      {
        path: 'lib/jsrsasign-all-min.js',
        decoy: 'if(h.hex.length%2!=0){throw"Mac: wrong hex password: "+h.hex}g=h.hex;throw Error("Incorrect key passphrase: "+e.message)',
        control: 'if(h.hex.length%2!=0){throw"Mac: wrong hex"}g={password: "⟦s:password⟧"}',
        detector: 'generic-password-assignment',
      },
      {
        // a minified line cut to 512 bytes before the value: the quote count no longer says which quote closes
        path: 'dist/lightweight/openpgp.min.mjs',
        decoy: `const s="${'a'.repeat(700)}";try{n=await Gi(r)}catch(e){throw Error("Incorrect key passphrase: "+e.message)}`,
        control: `const s="${'a'.repeat(700)}";const passphrase="⟦s:alnum/16⟧";`,
        detector: 'generic-password-assignment',
      },
    ],
  },
  {
    id: 'prose',
    reason: 'a word in prose, not a secret',
    scope: 'generic',
    // doc comments and READMEs: `ADMIN_USER_PASSWORD_AUTH: Admin-based user password authentication.`,
    // `permissions: secretsmanager:GetResourcePolicy. For more…`, `with no passphrase: ssh-keygen -t rsa`
    quoted: false,
    value: String.raw`^[A-Za-z]+(?:-[A-Za-z]+)*[.:]?$`,
    after: String.raw`^[,;]?[ \t]+[A-Za-z(-]`,
    samples: [
      {
        path: 'clients/cognitoidentityserviceprovider.d.ts',
        decoy: '   * ADMIN_USER_PASSWORD_AUTH: Admin-based user password authentication. Required permissions:  secretsmanager:GetResourcePolicy. For more information',
        control: '   * ADMIN_USER_PASSWORD: ⟦s:alnum/16⟧',
        detector: 'generic-password-assignment',
      },
      { path: 'README.md', decoy: 'Thanks to [Perfect Passwords: Selection, Protection, Authentication](http://example.net)', control: 'Thanks to passwords: ⟦s:password⟧', detector: 'generic-password-assignment' },
    ],
  },
  {
    id: 'empty-assignment',
    reason: 'empty assignment followed by the next one',
    scope: 'generic',
    // `MYSQL_USER=root MYSQL_PASSWORD= FILTER=integration npm test`
    quoted: false,
    before: String.raw`=[ \t]+$`,
    value: String.raw`^[A-Z_][A-Z0-9_]*=`,
    samples: [
      { path: 'Readme.md', decoy: 'MYSQL_HOST=localhost MYSQL_USER=root MYSQL_PASSWORD= FILTER=integration npm test', control: 'MYSQL_HOST=localhost MYSQL_USER=root MYSQL_PASSWORD=⟦s:password⟧ FILTER=integration npm test', detector: 'generic-password-assignment' },
    ],
  },
  {
    id: 'timestamp',
    reason: 'a date, timestamp, number or version, not a secret',
    scope: 'generic',
    // "PasswordLastUsed": "2016-09-08T21:47:36Z", Firefox's "timePasswordChanged":1385417463000, 1.2.3
    // (a bracket after it: an unquoted JSON number closing its object, taken in by the password pattern)
    value: String.raw`^(?:\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)?)?|1\d{9}(?:\d{3})?|\d+(?:\.\d+){1,3}|\d+\.\d+[eE][+-]?\d+)[)}\]]*$`,
    samples: [
      { path: 'apis/iam-2010-05-08.examples.json', decoy: '              "PasswordUpdatedAt": "2016-09-08T21:47:36Z",', control: '              "Password": "⟦s:password⟧",', detector: 'generic-password-assignment' },
      { path: 'logins.json', decoy: '{"timeCreated":1385417463000,"timePasswordSet":1385417463000}', control: '{"timeCreated":1385417463000,"encryptedPassword":"⟦s:b64/48⟧"}', detector: 'generic-password-assignment' },
    ],
  },
  {
    id: 'dotted-name',
    reason: 'a dotted name (scope, message key, property path), not a secret',
    scope: 'generic',
    // highlighter modes: {token:"string.quoted.double.actionscript.2"}, {token:"markup.heading.1"}
    human: false,
    value: String.raw`^[a-z]+(?:[_-][a-z]+)*(?:\.(?:[a-z]+(?:[_-][a-z]+)*|\d{1,3}))+$`,
    samples: [
      {
        path: 'src-min-noconflict/mode-actionscript.js',
        decoy: '{token:"constant.character.escape.actionscript.2",regex:"\\\\."},{token:"comment.line.double-slash.actionscript.2",regex:"$",next:"pop"}',
        control: '{token:"⟦s:alnum/32⟧",regex:"\\\\."}',
        detector: 'generic-secret-assignment',
      },
    ],
  },
  {
    id: 'ui-label',
    reason: 'a capitalised word (a label or translation), not a password',
    scope: 'generic',
    // i18n catalogs: "password": "Kennwort", "passwordLabel": "Contraseña"
    human: true,
    value: String.raw`^\p{Lu}\p{Ll}+$`,
    samples: [{ path: 'locales/de.json', decoy: '{"username": "Benutzername", "password": "Kennwort"}', control: '{"username": "Benutzername", "password": "⟦s:password⟧"}', detector: 'generic-password-assignment' }],
  },
  {
    id: 'password-hash-value',
    reason: 'password hash, not a password',
    scope: 'generic',
    human: true,
    value: String.raw`^\$2[aby]?\$\d\d\$|^\$(?:argon2|pbkdf2|scrypt|6|5|1)\$`,
    samples: [{ path: 'users.yaml', decoy: 'password: $6$rounds=5000$⟦h:alnum/16⟧$⟦i:alnum/43⟧', control: 'password: ⟦s:password⟧', detector: 'generic-password-assignment' }],
  },
  {
    id: 'lowercase-word',
    reason: 'a single lowercase word (test value or placeholder)',
    scope: 'generic',
    human: true,
    value: '^[a-z]+$',
    samples: [{ path: 'docker-compose.yml', decoy: '      POSTGRES_PASSWORD: postgresql', control: '      POSTGRES_PASSWORD: ⟦s:password⟧', detector: 'generic-password-assignment' }],
  },
  {
    id: 'entropy-floor',
    reason: 'entropy below the floor for its charset',
    scope: 'generic',
    human: false,
    check: 'entropy-floor',
    samples: [{ path: 'a.env', decoy: 'SIGNING_KEY=aaabbbcccdddeeefffggghhh', control: 'SIGNING_KEY=⟦s:alnum/24⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'identifier-words',
    reason: 'identifier made of words',
    scope: 'generic',
    // CamelCase / snake / kebab / SCREAMING identifiers: what config keys and class names look like
    human: false,
    value: String.raw`^(?:[A-Za-z][a-z]+(?:[A-Z][a-z]+)+|[a-z]+(?:[A-Z][a-z0-9]+)+|(?:[A-Z][a-z0-9]+){2,}|[a-z]+(?:[_.-][a-z]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)$`,
    samples: [{ path: 'settings.yaml', decoy: 'token_strategy: QuickBrownFoxJumpsOverLazyDwarf', control: 'token_strategy: ⟦s:alnum/32⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'fixture-word',
    reason: 'fixture value',
    scope: 'generic',
    value: String.raw`(?i)dummy|fake|mock|sample|test[_-]?(?:key|token|secret|password)|not[_-]?real|foobar|lorem`,
    samples: [{ path: 'a.env', decoy: 'AUTH_TOKEN=Zq8mockK2vN7pL4xW9tR', control: 'AUTH_TOKEN=⟦s:alnum/32⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'lockfile',
    reason: 'lockfile',
    scope: 'generic',
    paths: ['lockfile'],
    samples: [{ path: 'yarn.lock', decoy: '  resolved "https://registry.yarnpkg.com/x/-/x-1.0.0.tgz#⟦h:hex/40⟧"\n  authToken: "⟦t:alnum/32⟧"', control: '  resolved "https://ci:⟦s:npm-token⟧@registry.yarnpkg.com/x/-/x-1.0.0.tgz"', detector: 'npm-access-token' }],
  },
  {
    id: 'checksum',
    reason: 'checksum or digest',
    scope: 'generic',
    line: String.raw`(?i)\bintegrity\b|\bresolved\b.*#|\bchecksum\b|\bshasum\b|\bsha(?:1|256|512)?sum\b|\bdigest\b|\bh1:|\bhash\b`,
    value: '^[A-Za-z0-9+/=_-]+$',
    notKey: String.raw`(?i)secret|token|passw|api_?key`,
    samples: [{ path: 'release.json', decoy: '{"artifact": "app.tgz", "sha256sum": "x", "credential_digest": "⟦h:hex/64⟧"}', control: '{"artifact": "app.tgz", "credential": "⟦s:hex/64⟧"}', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'git-sha',
    reason: 'git object id',
    scope: 'generic',
    value: '^(?:[0-9a-f]{40}|[0-9a-f]{64})$',
    line: String.raw`(?i)\b(?:commit|sha|rev(?:ision)?|ref|hash|digest|checksum|etag|oid|tree|parent|head|base)\w*\s*["']?\s*[:=]`,
    samples: [{ path: 'deploy.yaml', decoy: 'commit_token: ⟦h:hex/40⟧', control: 'deploy_token: ⟦s:hex/40⟧', detector: 'generic-secret-assignment' }],
  },
  {
    id: 'uuid-id',
    reason: 'identifier (UUID)',
    scope: 'generic',
    value: '(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
    // the key of the assignment on the line names an id ("tenant_id", "secretId", "uuid")
    before: String.raw`(?:^|[\s"'{,;(])[\w.-]*(?:[_.-]id|Id|ID|uuid|UUID|guid|GUID)["']?\s*[:=]`,
    samples: [{ path: 'users.json', decoy: '{"password_uuid": "⟦h:id⟧"}', control: '{"password": "⟦s:password⟧"}', detector: 'generic-password-assignment' }],
  },
  {
    id: 'minified-identifier',
    reason: 'minified-code identifier',
    scope: 'generic',
    minified: true,
    value: `^(?:${CODE_IDENTIFIER}(?:\\.${CODE_IDENTIFIER})*|[0-9a-f]{6,32})$`,
    samples: [
      {
        path: 'vendor.4f3a9c2e.js',
        decoy: `!function(e){var n={apiKey:"⟦h:hex/24⟧",token:"⟦i:hex/16⟧"};${'x=1;'.repeat(400)}}()`,
        control: `!function(e){var n={apiKey:"⟦s:alnum/32⟧"};${'x=1;'.repeat(400)}}()`,
        detector: 'generic-secret-assignment',
      },
    ],
  },
  {
    id: 'code-reference',
    reason: 'code reference',
    scope: 'generic',
    value: `^${CODE_IDENTIFIER}(?:\\.${CODE_IDENTIFIER})+$`,
    samples: [{ path: 'app.yaml', decoy: 'db_password: "vault.kubernetes.storeRef"', control: 'db_password: "⟦s:alnum/16⟧"', detector: 'generic-password-assignment' }],
  },
  {
    id: 'url-or-path',
    reason: 'URL or path without credentials',
    scope: 'generic',
    value: String.raw`^(?:(?:https?|file)://[^:@\s]+|\.{0,2}/[\w./-]+)$`,
    samples: [{ path: 'a.env', decoy: 'DB_PASSWORD_LOCATION=/var/run/db/app-login', control: 'DB_PASSWORD=⟦s:password⟧', detector: 'generic-password-assignment' }],
  },
];
