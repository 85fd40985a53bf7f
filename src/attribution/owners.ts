// Who should rotate a leaked key: the introducing commit's author if assignable, else the CODEOWNERS owner of
// the path, else the configured fallback. Teams are mentioned, never assigned. Bots never own anything.
// attribution decides from its tiers only ('manual' is a person's choice, recorded by the loop)
import type { AttributedSource as OwnerSource, Author } from '../core/model.js';
import type { Clock } from '../core/ports.js';
import { botMatcher, isBotLogin, type BotMatcher } from './bots.js';
import { ownersOf, type CodeownersFile } from './codeowners.js';
import { parseNoreplyEmail } from './noreply.js';
import { parsePrincipal, type OwnersConfig } from '../core/loop-config.js';

export interface OwnerCandidate {
  login: string;
  source: OwnerSource;
}

export interface Attribution {
  /** Users to assign, best first (all from the first tier that produced an assignable user). */
  assignees: OwnerCandidate[];
  /** Every assignable user across tiers, best first: what a rejected assignment falls back to. */
  candidates: OwnerCandidate[];
  /** Teams (`org/slug`) to mention in the body. */
  teams: { team: string; source: OwnerSource }[];
  /** Why each candidate was dropped, for the dry-run printout and the event log. Never holds an email. */
  notes: string[];
}

/** The cache of email → login answers (login null: GitHub maps the email to no account). Sync or async (the store). */
export interface EmailLoginCache {
  get(email: string): { login: string | null; checkedAt: string } | undefined | Promise<{ login: string | null; checkedAt: string } | undefined>;
  set(email: string, login: string | null, checkedAt: string): void | Promise<void>;
}

export interface AttributionHost {
  /** Commits API `author.login` of `sha` in `repo` (owner/name); null when the email maps to no account. */
  commitAuthorLogin(repo: string, sha: string): Promise<string | null>;
  /** `checkUserCanBeAssigned` in the repo the issue will live in. */
  canAssign(repo: string, login: string): Promise<boolean>;
}

export interface AttributionLocation {
  commit: string | null;
  author: Author | null;
  date: string | null;
  path: string;
}

export interface AttributionInput {
  /** Repo the secret was found in (commits API calls go there). */
  repo: string;
  /** Repo the issue will be opened in (assignability is checked there). */
  issueRepo: string;
  locations: AttributionLocation[];
  /** CODEOWNERS of `repo` at its default branch, or null when it has none. */
  codeowners: CodeownersFile | null;
}

export class Attributor {
  private readonly isBot: BotMatcher;
  private readonly assignable = new Map<string, Promise<boolean>>();
  private readonly loginOfCommit = new Map<string, Promise<string | null>>();

  constructor(
    private readonly host: AttributionHost,
    private readonly cache: EmailLoginCache,
    private readonly config: OwnersConfig,
    private readonly clock: Clock,
  ) {
    this.isBot = botMatcher(config.bots);
  }

  private canAssign(repo: string, login: string): Promise<boolean> {
    const k = `${repo}\0${login.toLowerCase()}`;
    let p = this.assignable.get(k);
    if (!p) {
      p = this.host.canAssign(repo, login);
      this.assignable.set(k, p);
    }
    return p;
  }

  /** Login of a commit author: offline for noreply emails, cached per email, else the commits API. */
  async loginFor(repo: string, commit: string, author: Author): Promise<string | null> {
    const noreply = parseNoreplyEmail(author.email);
    if (noreply) return noreply.login;
    const email = author.email.trim().toLowerCase();
    const cached = email ? await this.cache.get(email) : undefined;
    if (cached) {
      if (cached.login) return cached.login;
      const ageDays = (this.clock.now().getTime() - Date.parse(cached.checkedAt)) / 86_400_000;
      if (ageDays < this.config.unknownEmailTtlDays) return null;
    }
    const k = `${repo}\0${commit}`;
    let p = this.loginOfCommit.get(k);
    if (!p) {
      p = this.host.commitAuthorLogin(repo, commit);
      this.loginOfCommit.set(k, p);
    }
    const login = await p;
    if (email) await this.cache.set(email, login, this.clock.now().toISOString());
    return login;
  }

  async attribute(input: AttributionInput): Promise<Attribution> {
    const notes: string[] = [];
    const tiers: OwnerCandidate[][] = [[], [], []];
    const teams: Attribution['teams'] = [];
    const seen = new Set<string>();
    const add = async (tier: number, login: string, source: OwnerSource) => {
      const key = login.toLowerCase();
      if (seen.has(key)) return;
      seen.add(key);
      if (isBotLogin(login)) {
        notes.push(`${login}: bot account`);
        return;
      }
      if (await this.canAssign(input.issueRepo, login)) tiers[tier]!.push({ login, source });
      else notes.push(`${login} (${source}): not assignable in ${input.issueRepo}`);
    };

    if (this.config.commitAuthors) {
      const byDate = [...input.locations].sort((a, b) => (a.date ?? '').localeCompare(b.date ?? ''));
      for (const loc of byDate) {
        if (!loc.commit || !loc.author) continue;
        if (this.isBot(loc.author)) {
          notes.push(`commit ${loc.commit.slice(0, 7)}: author is a bot`);
          continue;
        }
        const login = await this.loginFor(input.repo, loc.commit, loc.author);
        if (!login) {
          notes.push(`commit ${loc.commit.slice(0, 7)}: author email maps to no GitHub account`);
          continue;
        }
        await add(0, login, 'commit-author');
      }
    }

    if (this.config.codeowners && input.codeowners) {
      const paths = [...new Set(input.locations.map((l) => l.path))];
      for (const path of paths) {
        const m = ownersOf(input.codeowners, path);
        if (!m) continue;
        for (const o of m.owners) {
          if (o.kind === 'user') await add(1, o.login, 'codeowners');
          else if (o.kind === 'team') pushTeam(teams, `${o.org}/${o.slug}`, 'codeowners');
          else {
            // An email owner is only usable when we already know its login; never ask GitHub to search emails.
            const cached = await this.cache.get(o.email.toLowerCase());
            if (cached?.login) await add(1, cached.login, 'codeowners');
          }
        }
      }
    }

    if (this.config.fallback) {
      const p = parsePrincipal(this.config.fallback);
      if (p.kind === 'team') pushTeam(teams, `${p.org}/${p.slug}`, 'fallback');
      else await add(2, p.login, 'fallback');
    }

    const candidates = tiers.flat();
    let assignees = tiers.find((t) => t.length > 0) ?? [];
    // A CODEOWNERS team already owns the path: the fallback user is only for paths nobody owns.
    if (assignees[0]?.source === 'fallback' && teams.some((t) => t.source === 'codeowners')) assignees = [];
    return { assignees: assignees.slice(0, 10), candidates, teams, notes };
  }
}

function pushTeam(teams: Attribution['teams'], team: string, source: OwnerSource) {
  if (!teams.some((t) => t.team.toLowerCase() === team.toLowerCase())) teams.push({ team, source });
}
