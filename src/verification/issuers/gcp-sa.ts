// GCP service-account key: sign a JWT-bearer assertion and exchange it at Google's token endpoint.
import { joinUrl } from '../http.js';
import type { Outcome } from '../http.js';
import type { CodeVerifier } from './types.js';
import { part, signRs256 } from './jwt.js';

/** The token endpoint is pinned: token_uri inside the leaked file is attacker-controlled data and is ignored. */
const AUDIENCE = 'https://oauth2.googleapis.com/token';

interface KeyMaterial {
  email: string;
  key: string;
  keyId?: string;
}

function material(secret: string, parts: Record<string, string>): KeyMaterial | string {
  const trimmed = secret.trim();
  if (trimmed.startsWith('{')) {
    try {
      const j = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof j.private_key === 'string' && typeof j.client_email === 'string')
        return { email: j.client_email, key: j.private_key, ...(typeof j.private_key_id === 'string' ? { keyId: j.private_key_id } : {}) };
      return 'service-account JSON without private_key/client_email';
    } catch {
      return 'service-account JSON does not parse';
    }
  }
  const email = part(parts, 'client_email', 'email');
  if (!email) return 'missing part client_email';
  const keyId = part(parts, 'private_key_id', 'key_id');
  return { email, key: trimmed, ...(keyId ? { keyId } : {}) };
}

export const gcpServiceAccount: CodeVerifier<KeyMaterial> = {
  name: 'gcp-sa',
  baseUrl: 'https://oauth2.googleapis.com',
  needs: 'secret: the service-account JSON, or its private_key PEM with parts.client_email',
  read: material,
  async check(m, ctx): Promise<Outcome> {
    const now = Math.floor(ctx.now().getTime() / 1000);
    const assertion = signRs256(
      { iss: m.email, scope: 'https://www.googleapis.com/auth/cloud-platform', aud: AUDIENCE, iat: now, exp: now + 3600 },
      m.key,
      m.keyId ? { kid: m.keyId } : {},
    );
    ctx.sensitive(assertion);
    const res = await ctx.send({
      method: 'POST',
      url: joinUrl(ctx.baseUrl, '/token'),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'keyloop-verify' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    });
    let body: { access_token?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      return { status: 'unknown', reason: `unexpected response: HTTP ${res.status} without JSON` };
    }
    if (res.status === 200 && typeof body.access_token === 'string') {
      ctx.sensitive(body.access_token);
      return { status: 'live', reason: 'token exchange succeeded', identity: { client_email: m.email } };
    }
    const desc = typeof body.error_description === 'string' ? body.error_description : '';
    if ((res.status === 400 || res.status === 401) && (body.error === 'invalid_grant' || body.error === 'invalid_client')) {
      // Clock skew also yields invalid_grant; that is our problem, not the key's.
      if (/(iat|exp|short-lived|time)/i.test(desc)) return { status: 'unknown', reason: `token exchange: ${body.error} (time claims)` };
      return { status: 'dead', reason: `token exchange: ${body.error}${desc ? ` (${desc.slice(0, 80)})` : ''}` };
    }
    return { status: 'unknown', reason: `unexpected response: HTTP ${res.status}` };
  },
};
