// Bot authors never own a leak: they committed on someone's behalf (dependabot, renovate, CI pushes).
import picomatch from 'picomatch';
import type { Author } from '../core/model.js';

const BUILTIN = [
  /\[bot\]/i,
  // GitHub's web-flow / generic noreply sender.
  /^noreply@github\.com$/i,
  /^actions@github\.com$/i,
  /^\d+\+[^@]*\[bot\]@users\.noreply\.github\.com$/i,
  /^(?:dependabot|renovate|github-actions|greenkeeper|snyk-bot)\b/i,
];

export type BotMatcher = (author: Author) => boolean;

/** `patterns` are case-insensitive globs tried on the email and on the name. */
export function botMatcher(patterns: readonly string[] = []): BotMatcher {
  const extra = patterns.map((p) => picomatch(p, { nocase: true, dot: true }));
  return (a) => {
    const fields = [a.email, a.name];
    return fields.some((f) => BUILTIN.some((re) => re.test(f)) || extra.some((m) => m(f)));
  };
}

/** Logins too: `dependabot[bot]` may come back from the commits API. */
export function isBotLogin(login: string): boolean {
  return /\[bot\]$/i.test(login);
}
