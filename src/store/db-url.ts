// What a --db value is, and how to print a database URL without its password (no driver loaded here).

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(spec);
}

/** host:port/database as the user would recognize it, never with the password. */
export function describeUrl(url: string): { host: string; port: string; database: string; user: string; safe: string } {
  try {
    const u = new URL(url);
    const host = decodeURIComponent(u.hostname || 'localhost');
    const port = u.port || '5432';
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
    const user = decodeURIComponent(u.username);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/password|secret|key/i.test(k)) u.searchParams.set(k, '***');
    return { host, port, database, user, safe: u.toString() };
  } catch {
    return { host: '?', port: '?', database: '?', user: '', safe: 'postgres://(unparsable URL)' };
  }
}
