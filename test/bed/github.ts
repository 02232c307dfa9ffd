/**
 * A stand-in for the part of GitHub's REST API the actions use: issue comments (with GitHub's pagination),
 * reactions, collaborator permission, pull requests, repositories, and a repository's commits and archives
 * served from a real git repository (with codeload's redirect), and releases. Tokens map to identities and carry a job's
 * `permissions:`; errors carry GitHub's status codes and bodies; every answer carries the rate-limit headers.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import os from 'node:os';
import type { BedClock } from './clock.ts';
import type { BedRequest } from './http.ts';
import { jsonBody, sendJson } from './http.ts';

/** Who a token stands for. */
export interface GitHubIdentity {
  readonly login: string;
  readonly type: 'Bot' | 'User';
  readonly id: number;
}

/** A permission of a workflow job's `permissions:` (and of the GitHub App installation token it shapes). */
export type PermissionScope =
  | 'actions'
  | 'attestations'
  | 'checks'
  | 'contents'
  | 'deployments'
  | 'discussions'
  | 'id-token'
  | 'issues'
  | 'metadata'
  | 'models'
  | 'packages'
  | 'pages'
  | 'pull-requests'
  | 'repository-projects'
  | 'security-events'
  | 'statuses';

/** The access a permission grants; `write` includes `read`. */
export type PermissionLevel = 'read' | 'write' | 'none';

/**
 * A job's `permissions:` as the workflow writes it: a map, `read-all` or `write-all`. As on GitHub, once a map
 * names any permission the ones it does not name are `none`, except `metadata`, which is always at least `read`.
 */
export type TokenPermissions = Partial<Record<PermissionScope, PermissionLevel>> | 'read-all' | 'write-all';

/** Options of a token. */
export interface TokenOptions {
  /** A read-only token (e.g. GITHUB_TOKEN on a pull request from a fork) gets 403 on every write. */
  readOnly?: boolean;
  /** What the token may do; absent: everything (still bounded by `readOnly` and repository roles). */
  permissions?: TokenPermissions;
  /** Requests per hour; GitHub gives GITHUB_TOKEN 1000, users 5000. */
  rateLimit?: number;
}

/** A repository role; `permission` in GitHub's answer is derived from it. */
export type RepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

/** The roles a custom repository role can inherit from. */
export type CustomRoleBase = 'read' | 'triage' | 'write' | 'maintain';

/** A stored issue comment. */
export interface StoredComment {
  id: number;
  node_id: string;
  owner: string;
  repo: string;
  issue: number;
  body: string;
  user: GitHubIdentity;
  created_at: string;
  updated_at: string;
  reactions: StoredReaction[];
}

/** A stored commit comment (a whole-commit comment: no path, no line). */
export interface StoredCommitComment {
  id: number;
  node_id: string;
  owner: string;
  repo: string;
  commit_id: string;
  body: string;
  user: GitHubIdentity;
  created_at: string;
  updated_at: string;
}

/** A stored release. */
export interface StoredRelease {
  id: number;
  owner: string;
  repo: string;
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  author: GitHubIdentity;
  created_at: string;
  published_at: string | null;
}

/** A stored reaction. */
export interface StoredReaction {
  id: number;
  node_id: string;
  content: string;
  user: GitHubIdentity;
  created_at: string;
}

/** What a test says about a pull request; the rest is filled in. */
export interface PullRequestSpec {
  /** `owner/name` of the base repository. */
  repo: string;
  number?: number;
  title?: string;
  body?: string;
  author?: string;
  headRef?: string;
  headSha?: string;
  baseRef?: string;
  baseSha?: string;
  mergeCommitSha?: string | null;
  /** `owner/name` of the fork the head lives in; absent for a same-repository branch. */
  fork?: string;
  state?: 'open' | 'closed';
  draft?: boolean;
}

interface StoredPull extends Required<Omit<PullRequestSpec, 'fork' | 'mergeCommitSha'>> {
  fork: string | undefined;
  mergeCommitSha: string | null;
  /** Whether the test named head and base SHAs; those not named follow the branches of attached content. */
  headGiven: boolean;
  baseGiven: boolean;
  id: number;
  created_at: string;
  updated_at: string;
}

interface StoredRepo {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  defaultBranch: string;
  fork: boolean;
  nextIssue: number;
  issues: Map<number, { number: number; title: string; author: string; pull: boolean; created_at: string }>;
  roles: Map<string, RepoRole>;
  /** Users whose role is a custom repository role, by login: its name (`roles` holds the role it inherits). */
  customRoles: Map<string, string>;
  /** The local git repository whose commits this repository serves. */
  gitDir: string | undefined;
}

interface TokenEntry {
  identity: GitHubIdentity;
  readOnly: boolean;
  permissions: TokenPermissions | undefined;
  limit: number;
  used: number;
  resetAt: number;
}

const API_VERSION = '2022-11-28';
const DOCS = 'https://docs.github.com/rest';
const MAX_COMMENT = 65536;
const REACTIONS = ['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes'] as const;
/** Where archive downloads are redirected to: the stand-in's own codeload.github.com. */
const CODELOAD = '/_codeload/';
/** How long a codeload URL works; GitHub's private-repository archive links last about five minutes. */
const CODELOAD_TTL_MS = 5 * 60_000;
const DOC_COMMIT = 'https://docs.github.com/rest/commits/commits#get-a-commit';
const DOC_TARBALL = 'https://docs.github.com/rest/repos/contents#download-a-repository-archive-tar';
const DOC_ZIPBALL = 'https://docs.github.com/rest/repos/contents#download-a-repository-archive-zip';
const DOC_PULL = 'https://docs.github.com/rest/pulls/pulls#get-a-pull-request';
const DOC_CREATE_RELEASE = 'https://docs.github.com/rest/releases/releases#create-a-release';
const DOC_RELEASE_BY_TAG = 'https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name';

type Need = readonly [PermissionScope, 'read' | 'write'];

interface CodeloadGrant {
  path: string;
  gitDir: string;
  prefix: string;
  format: 'tar.gz' | 'zip';
  expiresAt: number;
}
/** The identity GITHUB_TOKEN acts as. */
export const GITHUB_ACTIONS_BOT: GitHubIdentity = { login: 'github-actions[bot]', type: 'Bot', id: 41898282 };

class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) {
    super(String(body.message));
    this.status = status;
    this.body = { ...body, status: String(status) };
    this.headers = headers;
  }
}

function notFound(doc = DOCS): HttpError {
  return new HttpError(404, { message: 'Not Found', documentation_url: doc });
}

function randomSha(): string {
  return randomBytes(20).toString('hex');
}

/** GitHub's REST API as the actions see it, on loopback. Mount with `new BedServer('github', recorder, gh.handle)`. */
export class GitHubStandIn {
  /** The job's GITHUB_TOKEN; it acts as `github-actions[bot]`. */
  readonly githubToken: string;
  /** Known accounts, by lower-cased login. */
  readonly users = new Map<string, GitHubIdentity>();
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly repos = new Map<string, StoredRepo>();
  private readonly pulls = new Map<string, StoredPull>();
  private readonly commentStore = new Map<number, StoredComment>();
  private readonly commitCommentStore = new Map<number, StoredCommitComment>();
  private readonly releaseStore = new Map<number, StoredRelease>();
  private readonly codeloadGrants = new Map<string, CodeloadGrant>();
  private readonly clock: BedClock | undefined;
  private nextId = 1_000_000_000;
  private nextUserId = 9_000_000;

  /**
   * @param opts.repository a repository (`owner/name`) to create up front
   * @param opts.githubToken the GITHUB_TOKEN value (default: a random `ghs_` token)
   */
  constructor(opts: { repository?: string; githubToken?: string; clock?: BedClock } = {}) {
    this.clock = opts.clock;
    this.githubToken = opts.githubToken ?? `ghs_${randomBytes(18).toString('base64url')}`;
    this.addToken(this.githubToken, GITHUB_ACTIONS_BOT, { rateLimit: 1000 });
    if (opts.repository) this.addRepo(opts.repository);
  }

  /** Same as `githubToken`. */
  get defaultToken(): string {
    return this.githubToken;
  }

  /** Registers a token for an identity (and the identity as a known user). */
  addToken(token: string, identity: GitHubIdentity, opts: TokenOptions = {}): void {
    this.users.set(identity.login.toLowerCase(), identity);
    this.tokens.set(token, {
      identity,
      readOnly: opts.readOnly ?? false,
      permissions: opts.permissions,
      limit: opts.rateLimit ?? (identity.type === 'Bot' ? 1000 : 5000),
      used: 0,
      resetAt: Math.floor(this.now() / 1000) + 3600,
    });
  }

  /** Replaces a token's `permissions:` (`undefined`: everything), e.g. to play a job that narrows GITHUB_TOKEN. */
  setTokenPermissions(token: string, permissions: TokenPermissions | undefined): void {
    const t = this.tokens.get(token);
    if (!t) throw new Error(`unknown token`);
    t.permissions = permissions;
  }

  /** Makes a token unknown (as after it expired: GitHub answers 401 Bad credentials). */
  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  /** Sets how many requests a token has left in its window (0: every request gets the rate-limit 403). */
  setRateLimitRemaining(token: string, remaining: number, resetInSeconds = 3600): void {
    const t = this.tokens.get(token);
    if (!t) throw new Error(`unknown token`);
    t.used = Math.max(0, t.limit - remaining);
    t.resetAt = Math.floor(this.now() / 1000) + resetInSeconds;
  }

  /** Registers a user account (without a token). */
  addUser(login: string, type: 'User' | 'Bot' = 'User'): GitHubIdentity {
    const existing = this.users.get(login.toLowerCase());
    if (existing) return existing;
    const identity = { login, type, id: this.nextUserId++ };
    this.users.set(login.toLowerCase(), identity);
    return identity;
  }

  /** Creates a repository (`owner/name`); the owner gets the admin role. */
  addRepo(fullName: string, opts: { private?: boolean; defaultBranch?: string; fork?: boolean } = {}): void {
    const [owner, name] = splitRepo(fullName);
    if (this.repos.has(key(owner, name))) return;
    this.addUser(owner);
    this.repos.set(key(owner, name), {
      id: this.nextId++,
      owner,
      name,
      private: opts.private ?? false,
      defaultBranch: opts.defaultBranch ?? 'main',
      fork: opts.fork ?? false,
      nextIssue: 1,
      issues: new Map(),
      roles: new Map([[owner.toLowerCase(), 'admin']]),
      customRoles: new Map(),
      gitDir: undefined,
    });
  }

  /**
   * Serves a repository's commits and archives from a local git repository (a work tree with `.git`, or a bare
   * one), creating the stand-in repository when needed. Pull requests whose head or base SHA the test did not
   * name take them from the branches of that repository.
   */
  setRepositoryContent(fullName: string, gitDir: string): void {
    const r = this.ensureRepo(fullName);
    if (gitSync(gitDir, ['rev-parse', '--git-dir']) === undefined) {
      throw new Error(`${gitDir} is not a git repository`);
    }
    r.gitDir = gitDir;
    for (const pr of this.pulls.values()) {
      const headRepo = pr.fork ? this.repo(...splitRepo(pr.fork)) : this.repo(...splitRepo(pr.repo));
      const base = this.repo(...splitRepo(pr.repo));
      if (headRepo !== r && base !== r) continue;
      if (!pr.headGiven) pr.headSha = this.branchTip([headRepo, base], pr.headRef) ?? pr.headSha;
      if (!pr.baseGiven) pr.baseSha = this.branchTip([base], pr.baseRef) ?? pr.baseSha;
    }
  }

  /**
   * Plays a push to a pull request's head branch: `head.sha` becomes `sha`, and so does `refs/pull/N/head`.
   * With content attached, `sha` may be anything git resolves there (a branch, an abbreviated SHA) and must be a
   * commit of it; returns the full SHA.
   */
  pushToPullRequest(fullName: string, number: number, sha: string): string {
    const [owner, name] = splitRepo(fullName);
    const pr = this.pulls.get(`${key(owner, name)}#${number}`);
    if (!pr) throw new Error(`no pull request ${fullName}#${number} in the GitHub stand-in`);
    const base = this.repo(owner, name);
    const dirs = [pr.fork ? this.repo(...splitRepo(pr.fork)) : base, base].flatMap((r) => r.gitDir ?? []);
    let full: string | undefined;
    if (dirs.length === 0) {
      if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`not a full commit SHA: ${sha}`);
      full = sha;
    } else {
      for (const dir of dirs) full ??= gitSync(dir, ['rev-parse', '--verify', '--quiet', `${sha}^{commit}`]);
      if (!full) throw new Error(`no commit ${sha} in the content of ${fullName}`);
    }
    pr.headSha = full;
    pr.headGiven = true;
    // GitHub recomputes the test merge commit after every push.
    if (pr.mergeCommitSha !== null) pr.mergeCommitSha = randomSha();
    pr.updated_at = this.iso();
    return full;
  }

  /** Gives a user a role on a repository (`none` removes access). */
  setRole(fullName: string, login: string, role: RepoRole): void {
    this.addUser(login);
    const r = this.repo(...splitRepo(fullName));
    r.roles.set(login.toLowerCase(), role);
    r.customRoles.delete(login.toLowerCase());
  }

  /**
   * Gives a user a custom repository role (an organization's own, e.g. `deployer`) that inherits `base`: the
   * user can do what `base` allows, and the collaborator permission API names the role in `role_name`.
   */
  setCustomRole(fullName: string, login: string, name: string, base: CustomRoleBase): void {
    this.setRole(fullName, login, base);
    this.repo(...splitRepo(fullName)).customRoles.set(login.toLowerCase(), name);
  }

  /** Opens an issue; returns its number. */
  addIssue(fullName: string, opts: { number?: number; title?: string; author?: string } = {}): number {
    const r = this.ensureRepo(fullName);
    const n = opts.number ?? r.nextIssue;
    r.nextIssue = Math.max(r.nextIssue, n + 1);
    const author = opts.author ?? r.owner;
    this.addUser(author);
    r.issues.set(n, {
      number: n,
      title: opts.title ?? `Issue ${n}`,
      author,
      pull: false,
      created_at: this.iso(),
    });
    return n;
  }

  /** Opens a pull request (creating the repositories involved); returns its number. */
  addPullRequest(spec: PullRequestSpec): number {
    const r = this.ensureRepo(spec.repo);
    if (spec.fork) this.ensureRepo(spec.fork, { fork: true });
    const n = spec.number ?? r.nextIssue;
    r.nextIssue = Math.max(r.nextIssue, n + 1);
    const author = spec.author ?? (spec.fork ? splitRepo(spec.fork)[0] : r.owner);
    this.addUser(author);
    const title = spec.title ?? `Pull request ${n}`;
    r.issues.set(n, { number: n, title, author, pull: true, created_at: this.iso() });
    const headRef = spec.headRef ?? `feature-${n}`;
    const baseRef = spec.baseRef ?? r.defaultBranch;
    const headRepos = spec.fork ? [this.repo(...splitRepo(spec.fork)), r] : [r];
    this.pulls.set(`${key(r.owner, r.name)}#${n}`, {
      repo: `${r.owner}/${r.name}`,
      number: n,
      title,
      body: spec.body ?? '',
      author,
      headRef,
      headSha: spec.headSha ?? this.branchTip(headRepos, headRef) ?? randomSha(),
      headGiven: spec.headSha !== undefined,
      baseRef,
      baseSha: spec.baseSha ?? this.branchTip([r], baseRef) ?? randomSha(),
      baseGiven: spec.baseSha !== undefined,
      mergeCommitSha: spec.mergeCommitSha === undefined ? randomSha() : spec.mergeCommitSha,
      fork: spec.fork,
      state: spec.state ?? 'open',
      draft: spec.draft ?? false,
      id: this.nextId++,
      created_at: this.iso(),
      updated_at: this.iso(),
    });
    return n;
  }

  /** Adds a comment directly (as if someone wrote it on github.com); returns it. */
  addComment(fullName: string, issue: number, body: string, author: string): StoredComment {
    const r = this.ensureRepo(fullName);
    if (!r.issues.has(issue)) this.addIssue(fullName, { number: issue });
    return this.storeComment(r, issue, body, this.addUser(author));
  }

  /** The comments on a commit, oldest first. */
  commitComments(fullName: string, sha: string): StoredCommitComment[] {
    const [owner, name] = splitRepo(fullName);
    return [...this.commitCommentStore.values()].filter(
      (c) => key(c.owner, c.repo) === key(owner, name) && c.commit_id === sha,
    );
  }

  /** The releases of a repository (drafts included), oldest first. */
  releases(fullName: string): StoredRelease[] {
    const [owner, name] = splitRepo(fullName);
    return [...this.releaseStore.values()].filter((r) => key(r.owner, r.repo) === key(owner, name));
  }

  /** The comments on an issue or pull request, oldest first. */
  comments(fullName: string, issue: number): StoredComment[] {
    const [owner, name] = splitRepo(fullName);
    return [...this.commentStore.values()].filter(
      (c) => key(c.owner, c.repo) === key(owner, name) && c.issue === issue,
    );
  }

  /** Request handler for BedServer. */
  readonly handle = async (req: BedRequest, res: http.ServerResponse): Promise<void> => {
    // Codeload is another host on GitHub: its links carry their own token and no API headers.
    if (req.url.pathname.startsWith(CODELOAD)) return this.codeload(req, res);
    let token: TokenEntry | undefined;
    try {
      token = this.authenticate(req);
      const { status, body, headers } = await this.route(req, token);
      this.send(res, status, body, { ...headers, ...this.rateHeaders(token) });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      this.send(res, err.status, err.body, { ...this.rateHeaders(token), ...err.headers });
    }
  };

  private send(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): void {
    const common = {
      'x-github-api-version-selected': API_VERSION,
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      ...headers,
    };
    if (body === undefined) {
      res.writeHead(status, { ...common, ...(status === 204 ? {} : { 'content-length': '0' }) });
      res.end();
      return;
    }
    sendJson(res, status, body, common);
  }

  private async codeload(req: BedRequest, res: http.ServerResponse): Promise<void> {
    const now = this.now();
    for (const [t, g] of this.codeloadGrants) if (g.expiresAt <= now) this.codeloadGrants.delete(t);
    const grant = this.codeloadGrants.get(req.url.searchParams.get('token') ?? '');
    if (req.method !== 'GET' || !grant || grant.path !== req.url.pathname) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404: Not Found');
      return;
    }
    const sha = grant.path.slice(grant.path.lastIndexOf('/') + 1);
    const child = spawn(
      'git',
      ['-C', grant.gitDir, 'archive', `--format=${grant.format}`, `--prefix=${grant.prefix}/`, sha],
      { env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    res.writeHead(200, {
      'content-type': grant.format === 'zip' ? 'application/zip' : 'application/x-gzip',
      'content-disposition': `attachment; filename=${grant.prefix}.${grant.format}`,
      etag: `"${sha}"`,
    });
    // The archive is streamed as git writes it; the response ends only once git has exited cleanly, so a
    // failure reaches the client as a cut connection rather than as a complete-looking archive.
    child.stdout.pipe(res, { end: false });
    res.on('close', () => {
      if (!res.writableEnded) child.kill();
    });
    const code = await new Promise<number | null>((resolve) => {
      child.on('error', () => resolve(null));
      child.on('close', resolve);
    });
    if (code === 0) {
      res.end();
    } else if (!res.destroyed) {
      res.destroy(new Error(`git archive exited ${code}: ${Buffer.concat(stderr).toString().trim()}`));
    }
  }

  private authenticate(req: BedRequest): TokenEntry {
    const header = req.headers.authorization;
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(header ?? '');
    if (!m) {
      throw new HttpError(401, { message: 'Requires authentication', documentation_url: DOCS });
    }
    const entry = this.tokens.get(m[1]);
    if (!entry) throw new HttpError(401, { message: 'Bad credentials', documentation_url: DOCS });
    const nowSec = Math.floor(this.now() / 1000);
    if (entry.resetAt <= nowSec) {
      entry.used = 0;
      entry.resetAt = nowSec + 3600;
    }
    if (entry.used >= entry.limit) {
      throw new HttpError(
        403,
        {
          message: `API rate limit exceeded for ${entry.identity.type === 'Bot' ? 'installation' : 'user'} ID ${entry.identity.id}.`,
          documentation_url:
            'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        },
        { ...this.rateHeaders(entry), 'retry-after': String(Math.max(1, entry.resetAt - nowSec)) },
      );
    }
    entry.used += 1;
    return entry;
  }

  private rateHeaders(t: TokenEntry | undefined): Record<string, string> {
    if (!t) return { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '59', 'x-ratelimit-used': '1' };
    return {
      'x-ratelimit-limit': String(t.limit),
      'x-ratelimit-remaining': String(Math.max(0, t.limit - t.used)),
      'x-ratelimit-used': String(t.used),
      'x-ratelimit-reset': String(t.resetAt),
      'x-ratelimit-resource': 'core',
    };
  }

  private async route(
    req: BedRequest,
    token: TokenEntry,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const p = req.url.pathname.replace(/\/+$/, '');
    const m = req.method;
    let g: RegExpExecArray | null;
    if (m === 'GET' && p === '/rate_limit') {
      const core = this.rateHeaders(token);
      const rate = {
        limit: Number(core['x-ratelimit-limit']),
        remaining: Number(core['x-ratelimit-remaining']),
        used: Number(core['x-ratelimit-used']),
        reset: Number(core['x-ratelimit-reset']),
      };
      return { status: 200, body: { resources: { core: rate }, rate } };
    }
    if (m === 'GET' && p === '/user') {
      if (token.identity.type === 'Bot') {
        throw new HttpError(403, {
          message: 'Resource not accessible by integration',
          documentation_url: DOCS,
        });
      }
      return { status: 200, body: this.userJson(token.identity) };
    }
    let repo: StoredRepo;
    let rest: string;
    if ((g = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(p))) {
      repo = this.visibleRepo(decodeURIComponent(g[1]), decodeURIComponent(g[2]), token);
      rest = g[3] ?? '';
    } else if ((g = /^\/repositories\/(\d+)(\/.*)?$/.exec(p))) {
      // GitHub's pagination links name the repository by id.
      const byId = [...this.repos.values()].find((r) => r.id === Number(g![1]));
      if (!byId) throw notFound();
      repo = this.visibleRepo(byId.owner, byId.name, token);
      rest = g[2] ?? '';
    } else {
      throw notFound();
    }
    const base = `${origin(req)}/repos/${repo.owner}/${repo.name}`;

    if (rest === '' && m === 'GET') return { status: 200, body: this.repoJson(repo) };

    if ((g = /^\/issues\/(\d+)$/.exec(rest)) && m === 'GET') {
      const issue = repo.issues.get(Number(g[1]));
      if (!issue) throw notFound('https://docs.github.com/rest/issues/issues#get-an-issue');
      this.requireIssueAccess(
        token,
        repo,
        issue.number,
        'read',
        'https://docs.github.com/rest/issues/issues',
      );
      return { status: 200, body: this.issueJson(repo, issue.number, base) };
    }
    if ((g = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const n = Number(g[1]);
      if (!repo.issues.has(n)) throw notFound('https://docs.github.com/rest/issues/comments');
      const doc = 'https://docs.github.com/rest/issues/comments';
      this.requireIssueAccess(token, repo, n, m === 'GET' ? 'read' : 'write', doc);
      if (m === 'GET') {
        const all = this.comments(`${repo.owner}/${repo.name}`, n);
        const since = req.url.searchParams.get('since');
        const list = since ? all.filter((c) => c.updated_at >= since) : all;
        return this.page(req, repo, rest, list, (c) => this.commentJson(c));
      }
      if (m === 'POST') {
        const body = this.commentBody(req);
        const c = this.storeComment(repo, n, body, token.identity);
        return {
          status: 201,
          body: this.commentJson(c),
          headers: { location: `${base}/issues/comments/${c.id}` },
        };
      }
    }
    if ((g = /^\/issues\/comments\/(\d+)$/.exec(rest))) {
      const c = this.commentIn(repo, Number(g[1]));
      const doc = 'https://docs.github.com/rest/issues/comments';
      this.requireIssueAccess(token, repo, c.issue, m === 'GET' ? 'read' : 'write', doc);
      if (m === 'GET') return { status: 200, body: this.commentJson(c) };
      if (m === 'PATCH') {
        this.requireAuthorOrWriter(repo, c, token);
        c.body = this.commentBody(req);
        c.updated_at = this.iso();
        return { status: 200, body: this.commentJson(c) };
      }
      if (m === 'DELETE') {
        this.requireAuthorOrWriter(repo, c, token);
        this.commentStore.delete(c.id);
        return { status: 204, body: undefined };
      }
    }
    if ((g = /^\/issues\/comments\/(\d+)\/reactions$/.exec(rest))) {
      const c = this.commentIn(repo, Number(g[1]));
      const doc = 'https://docs.github.com/rest/reactions/reactions';
      this.requireIssueAccess(token, repo, c.issue, m === 'GET' ? 'read' : 'write', doc);
      if (m === 'GET') {
        const content = req.url.searchParams.get('content');
        const list = content ? c.reactions.filter((r) => r.content === content) : c.reactions;
        return this.page(req, repo, rest, list, (r) => this.reactionJson(r));
      }
      if (m === 'POST') {
        const raw = jsonBody(req).content;
        const content = typeof raw === 'string' ? raw : '';
        if (!(REACTIONS as readonly string[]).includes(content)) {
          throw validationFailed('Reaction', 'content', 'invalid', `${content} is not a valid content`);
        }
        const existing = c.reactions.find((r) => r.content === content && r.user.id === token.identity.id);
        if (existing) return { status: 200, body: this.reactionJson(existing) };
        const id = this.nextId++;
        const r: StoredReaction = {
          id,
          node_id: nodeId('REA', id),
          content,
          user: token.identity,
          created_at: this.iso(),
        };
        c.reactions.push(r);
        return { status: 201, body: this.reactionJson(r) };
      }
    }
    if ((g = /^\/commits\/([^/]+)\/comments$/.exec(rest))) {
      const sha = decodeURIComponent(g[1]).toLowerCase();
      const doc = 'https://docs.github.com/rest/commits/comments#create-a-commit-comment';
      this.requirePermission(token, [['contents', m === 'GET' ? 'read' : 'write']], doc);
      const known =
        /^[0-9a-f]{40}$/.test(sha) && (!repo.gitDir || (await this.resolveRef(repo, sha))?.sha === sha);
      if (!known) {
        throw new HttpError(422, { message: `No commit found for SHA: ${sha}`, documentation_url: doc });
      }
      if (m === 'GET') {
        const list = this.commitComments(`${repo.owner}/${repo.name}`, sha);
        return this.page(req, repo, rest, list, (c) => this.commitCommentJson(c));
      }
      if (m === 'POST') {
        const id = this.nextId++;
        const at = this.iso();
        const c: StoredCommitComment = {
          id,
          node_id: nodeId('CC_', id),
          owner: repo.owner,
          repo: repo.name,
          commit_id: sha,
          body: this.commentBody(req),
          user: token.identity,
          created_at: at,
          updated_at: at,
        };
        this.commitCommentStore.set(id, c);
        return {
          status: 201,
          body: this.commitCommentJson(c),
          headers: { location: `${base}/comments/${id}` },
        };
      }
    }
    if ((g = /^\/comments\/(\d+)$/.exec(rest))) {
      const c = this.commitCommentStore.get(Number(g[1]));
      if (!c || key(c.owner, c.repo) !== key(repo.owner, repo.name)) {
        throw notFound('https://docs.github.com/rest/commits/comments#get-a-commit-comment');
      }
      const doc = 'https://docs.github.com/rest/commits/comments';
      this.requirePermission(token, [['contents', m === 'GET' ? 'read' : 'write']], doc);
      if (m === 'GET') return { status: 200, body: this.commitCommentJson(c) };
      if (m === 'PATCH') {
        this.requireAuthorOrWriter(repo, c, token);
        c.body = this.commentBody(req);
        c.updated_at = this.iso();
        return { status: 200, body: this.commitCommentJson(c) };
      }
      if (m === 'DELETE') {
        this.requireAuthorOrWriter(repo, c, token);
        this.commitCommentStore.delete(c.id);
        return { status: 204, body: undefined };
      }
    }
    if ((g = /^\/collaborators\/([^/]+)\/permission$/.exec(rest)) && m === 'GET') {
      const login = decodeURIComponent(g[1]);
      const user = this.users.get(login.toLowerCase());
      if (!user)
        throw notFound(
          'https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user',
        );
      // Anyone has read on a public repository without being a collaborator.
      const role = repo.roles.get(login.toLowerCase()) ?? (repo.private ? 'none' : 'read');
      const roleName = repo.customRoles.get(login.toLowerCase()) ?? role;
      return {
        status: 200,
        body: {
          permission: permissionOf(role),
          role_name: roleName,
          user: { ...this.userJson(user), permissions: permissionFlags(role), role_name: roleName },
        },
      };
    }
    if ((g = /^\/pulls\/(\d+)$/.exec(rest)) && m === 'GET') {
      const pr = this.pulls.get(`${key(repo.owner, repo.name)}#${Number(g[1])}`);
      if (!pr) throw notFound(DOC_PULL);
      this.requirePermission(token, [['pull-requests', 'read']], DOC_PULL);
      return { status: 200, body: this.pullJson(repo, pr, base) };
    }
    if ((g = /^\/commits\/(.+)$/.exec(rest)) && m === 'GET') {
      const ref = decodeURIComponent(g[1]);
      this.requirePermission(token, [['contents', 'read']], DOC_COMMIT);
      if (!repo.gitDir && !this.pullRef(repo, ref)) {
        throw new HttpError(409, { message: 'Git Repository is empty.', documentation_url: DOC_COMMIT });
      }
      const found = await this.resolveRef(repo, ref);
      if (!found) {
        throw new HttpError(422, {
          message: `No commit found for SHA: ${ref}`,
          documentation_url: DOC_COMMIT,
        });
      }
      return { status: 200, body: await this.commitJson(repo, found.gitDir, found.sha, base) };
    }
    if ((g = /^\/(tarball|zipball)(?:\/(.+))?$/.exec(rest)) && m === 'GET') {
      const zip = g[1] === 'zipball';
      const doc = zip ? DOC_ZIPBALL : DOC_TARBALL;
      this.requirePermission(token, [['contents', 'read']], doc);
      const ref = g[2] === undefined ? `refs/heads/${repo.defaultBranch}` : decodeURIComponent(g[2]);
      const found = await this.resolveRef(repo, ref);
      if (!found) throw notFound(doc);
      const format = zip ? 'zip' : 'tar.gz';
      const grantPath = `${CODELOAD}${repo.owner}/${repo.name}/legacy.${format}/${found.sha}`;
      const grantToken = randomBytes(24).toString('base64url');
      this.codeloadGrants.set(grantToken, {
        path: grantPath,
        gitDir: found.gitDir,
        prefix: `${repo.owner}-${repo.name}-${found.sha.slice(0, 7)}`,
        format,
        expiresAt: this.now() + CODELOAD_TTL_MS,
      });
      const location = `${origin(req)}${grantPath}?token=${grantToken}`;
      return { status: 302, body: undefined, headers: { location } };
    }
    if (rest === '/releases' && m === 'POST') {
      this.requirePermission(token, [['contents', 'write']], DOC_CREATE_RELEASE);
      const r = await this.createRelease(repo, jsonBody(req), token.identity);
      return {
        status: 201,
        body: this.releaseJson(r, base),
        headers: { location: `${base}/releases/${r.id}` },
      };
    }
    if ((g = /^\/releases\/tags\/(.+)$/.exec(rest)) && m === 'GET') {
      this.requirePermission(token, [['contents', 'read']], DOC_RELEASE_BY_TAG);
      const tag = decodeURIComponent(g[1]);
      // Only published releases have a tag to be found by.
      const r = this.releases(`${repo.owner}/${repo.name}`).find((x) => !x.draft && x.tag_name === tag);
      if (!r) throw notFound(DOC_RELEASE_BY_TAG);
      return { status: 200, body: this.releaseJson(r, base) };
    }
    throw notFound();
  }

  /**
   * Creates a release as POST /repos/{owner}/{repo}/releases does: one release per tag name; with content
   * attached, a published release of a tag that does not exist creates the tag at `target_commitish` (default:
   * the default branch), and one of an existing tag ignores `target_commitish`.
   */
  private async createRelease(
    repo: StoredRepo,
    input: Record<string, unknown>,
    author: GitHubIdentity,
  ): Promise<StoredRelease> {
    const tag = input.tag_name;
    if (typeof tag !== 'string' || tag === '') {
      throw new HttpError(422, {
        message: 'Invalid request.\n\n"tag_name" wasn\'t supplied.',
        documentation_url: DOC_CREATE_RELEASE,
      });
    }
    const text = (field: string): string | null => {
      const v = input[field];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string') {
        throw new HttpError(422, {
          message: `Invalid request.\n\nFor 'properties/${field}', ${JSON.stringify(v)} is not a string.`,
          documentation_url: DOC_CREATE_RELEASE,
        });
      }
      return v;
    };
    const name = text('name');
    const body = text('body');
    const target = text('target_commitish') ?? repo.defaultBranch;
    const draft = input.draft === true;
    if (this.releases(`${repo.owner}/${repo.name}`).some((r) => r.tag_name === tag)) {
      throw releaseInvalid({ resource: 'Release', code: 'already_exists', field: 'tag_name' });
    }
    if (repo.gitDir && !draft) {
      const wellFormed =
        /^[A-Za-z0-9._/-]+$/.test(tag) &&
        !tag.startsWith('-') &&
        gitSync(repo.gitDir, ['check-ref-format', `refs/tags/${tag}`]) !== undefined;
      if (!wellFormed) {
        throw releaseInvalid(
          { resource: 'Release', code: 'custom', field: 'tag_name', message: 'tag_name is not a valid tag' },
          { resource: 'Release', code: 'custom', message: 'Published releases must have a valid tag' },
        );
      }
      if (!(await this.resolveRef(repo, `refs/tags/${tag}`))) {
        const at = await this.resolveRef(repo, target);
        if (!at) throw releaseInvalid({ resource: 'Release', code: 'invalid', field: 'target_commitish' });
        if (gitSync(repo.gitDir, ['update-ref', `refs/tags/${tag}`, at.sha, '']) === undefined) {
          throw new Error(`could not create tag ${tag} in ${repo.gitDir}`);
        }
      }
    }
    const id = this.nextId++;
    const at = this.iso();
    const r: StoredRelease = {
      id,
      owner: repo.owner,
      repo: repo.name,
      tag_name: tag,
      target_commitish: target,
      name,
      body,
      draft,
      prerelease: input.prerelease === true,
      author,
      created_at: at,
      published_at: draft ? null : at,
    };
    this.releaseStore.set(id, r);
    return r;
  }

  /** The pull request a `refs/pull/N/head` or `refs/pull/N/merge` names, with the SHA it points at. */
  private pullRef(repo: StoredRepo, ref: string): { pr: StoredPull; sha: string | null } | undefined {
    const g = /^refs\/pull\/(\d+)\/(head|merge)$/.exec(ref);
    const pr = g && this.pulls.get(`${key(repo.owner, repo.name)}#${Number(g[1])}`);
    if (!pr) return undefined;
    return { pr, sha: g[2] === 'head' ? pr.headSha : pr.mergeCommitSha };
  }

  /**
   * The commit a ref names as GitHub resolves it: a pull request ref, a full or abbreviated SHA, a branch, a
   * tag, or a full `refs/heads/` / `refs/tags/` name; undefined when there is no such commit.
   */
  private async resolveRef(
    repo: StoredRepo,
    ref: string,
  ): Promise<{ gitDir: string; sha: string } | undefined> {
    const pull = this.pullRef(repo, ref);
    if (pull) {
      if (!pull.sha) return undefined;
      // A fork's pull request head lives in the base repository as refs/pull/N/head; the test may have put
      // the commit in either repository's content.
      const fork = pull.pr.fork ? this.repo(...splitRepo(pull.pr.fork)) : undefined;
      for (const dir of [repo.gitDir, fork?.gitDir]) {
        if (dir && (await gitCommits(dir, [pull.sha]))[0] === pull.sha) return { gitDir: dir, sha: pull.sha };
      }
      return undefined;
    }
    if (!repo.gitDir || !/^[A-Za-z0-9._/-]+$/.test(ref) || ref.startsWith('-') || ref.includes('..')) {
      return undefined;
    }
    const candidates: string[] = [];
    if (ref === 'HEAD' || ref.startsWith('refs/')) candidates.push(ref);
    else candidates.push(`refs/heads/${ref}`, `refs/tags/${ref}`);
    if (/^[0-9a-fA-F]{4,40}$/.test(ref)) candidates.unshift(ref.toLowerCase());
    const shas = await gitCommits(repo.gitDir, candidates);
    const sha = shas.find((s) => s !== undefined);
    return sha ? { gitDir: repo.gitDir, sha } : undefined;
  }

  /** The SHA a branch points at in the first of `repos` with content that has the branch. */
  private branchTip(repos: StoredRepo[], branch: string): string | undefined {
    for (const r of repos) {
      if (!r.gitDir) continue;
      const sha = gitSync(r.gitDir, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]);
      if (sha) return sha;
    }
    return undefined;
  }

  private async commitJson(
    r: StoredRepo,
    gitDir: string,
    commitSha: string,
    base: string,
  ): Promise<Record<string, unknown>> {
    const fields = ['%H', '%T', '%P', '%an', '%ae', '%at', '%cn', '%ce', '%ct', '%B'];
    const log = await git(gitDir, ['log', '-1', `--format=${fields.join('%x00')}`, commitSha, '--']);
    const [, tree, parentList, an, ae, at, cn, ce, ct, message] = log.stdout.split('\0');
    const parents = parentList ? parentList.split(' ') : [];
    const files = await this.commitFiles(r, gitDir, commitSha, parents[0]);
    const html = `https://github.com/${r.owner}/${r.name}`;
    const person = (name: string, email: string, seconds: string): Record<string, string> => ({
      name,
      email,
      date: new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    const additions = files.reduce((n, f) => n + (f.additions as number), 0);
    const deletions = files.reduce((n, f) => n + (f.deletions as number), 0);
    return {
      sha: commitSha,
      node_id: `C_${Buffer.from(`bed:${r.id}:${commitSha}`).toString('base64url')}`,
      commit: {
        author: person(an, ae, at),
        committer: person(cn, ce, ct),
        message: message.replace(/\s+$/, ''),
        tree: { sha: tree, url: `${base}/git/trees/${tree}` },
        url: `${base}/git/commits/${commitSha}`,
        comment_count: this.commitComments(`${r.owner}/${r.name}`, commitSha).length,
        verification: {
          verified: false,
          reason: 'unsigned',
          signature: null,
          payload: null,
          verified_at: null,
        },
      },
      url: `${base}/commits/${commitSha}`,
      html_url: `${html}/commit/${commitSha}`,
      comments_url: `${base}/commits/${commitSha}/comments`,
      // GitHub links authors by the e-mail of a verified account; the bed's accounts have none.
      author: null,
      committer: null,
      parents: parents.map((p) => ({ sha: p, url: `${base}/commits/${p}`, html_url: `${html}/commit/${p}` })),
      stats: { total: additions + deletions, additions, deletions },
      files,
    };
  }

  /** The files a commit changes against its first parent, as GitHub lists them (at most 300). */
  private async commitFiles(
    r: StoredRepo,
    gitDir: string,
    commitSha: string,
    parent: string | undefined,
  ): Promise<Record<string, unknown>[]> {
    const range = parent ? [parent, commitSha] : ['--root', commitSha];
    const out = await git(gitDir, [
      'diff-tree',
      '-r',
      '-z',
      '--no-commit-id',
      '--raw',
      '--numstat',
      ...range,
    ]);
    const parts = out.stdout.split('\0');
    const raw = new Map<string, { status: string; blob: string }>();
    const counts = new Map<string, [number, number]>();
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (part.startsWith(':')) {
        const [, , src, dst, status] = part.slice(1).split(' ');
        raw.set(parts[++i], { status, blob: /^0+$/.test(dst) ? src : dst });
      } else if (part) {
        const [add, del, file] = part.split('\t');
        counts.set(file, [Number(add) || 0, Number(del) || 0]);
      }
    }
    const names: Record<string, string> = { A: 'added', D: 'removed', M: 'modified', T: 'changed' };
    const html = `https://github.com/${r.owner}/${r.name}`;
    return [...raw].slice(0, 300).map(([filename, { status, blob }]) => {
      const [additions, deletions] = counts.get(filename) ?? [0, 0];
      const encoded = filename.split('/').map(encodeURIComponent).join('/');
      return {
        sha: blob,
        filename,
        status: names[status] ?? 'modified',
        additions,
        deletions,
        changes: additions + deletions,
        blob_url: `${html}/blob/${commitSha}/${encoded}`,
        raw_url: `${html}/raw/${commitSha}/${encoded}`,
      };
    });
  }

  private page<T>(
    req: BedRequest,
    repo: StoredRepo,
    rest: string,
    all: T[],
    render: (t: T) => unknown,
  ): { status: number; body: unknown; headers: Record<string, string> } {
    const perPage = clamp(parseInt(req.url.searchParams.get('per_page') ?? '30', 10) || 30, 1, 100);
    const page = Math.max(1, parseInt(req.url.searchParams.get('page') ?? '1', 10) || 1);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const items = all.slice((page - 1) * perPage, page * perPage).map(render);
    const link = (n: number): string => {
      const u = new URL(`/repositories/${repo.id}${rest}`, origin(req));
      for (const [k, v] of req.url.searchParams)
        if (k !== 'page' && k !== 'per_page') u.searchParams.append(k, v);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(n));
      return u.href;
    };
    const rels: string[] = [];
    if (page > 1) rels.push(`<${link(Math.min(page - 1, last))}>; rel="prev"`);
    if (page < last) rels.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
    if (page > 1) rels.push(`<${link(1)}>; rel="first"`);
    return { status: 200, body: items, headers: rels.length ? { link: rels.join(', ') } : {} };
  }

  private commentBody(req: BedRequest): string {
    const body = jsonBody(req).body;
    if (typeof body !== 'string') {
      throw new HttpError(422, {
        message: "Invalid request.\n\nFor 'properties/body', nil is not a string.",
        documentation_url: 'https://docs.github.com/rest/issues/comments',
      });
    }
    if (body.length > MAX_COMMENT) {
      throw validationFailed(
        'IssueComment',
        'body',
        'custom',
        `body is too long (maximum is ${MAX_COMMENT} characters)`,
      );
    }
    return body;
  }

  /** Refuses, as GitHub does, a token that has none of the permissions `anyOf` (each enough on its own). */
  private requirePermission(token: TokenEntry, anyOf: readonly Need[], doc: string): void {
    const rank = { none: 0, read: 1, write: 2 } as const;
    if (anyOf.some(([scope, level]) => rank[levelOf(token, scope)] >= rank[level])) return;
    const by = token.identity.type === 'Bot' ? 'integration' : 'personal access token';
    throw new HttpError(
      403,
      { message: `Resource not accessible by ${by}`, documentation_url: doc },
      {
        'x-accepted-github-permissions': anyOf.map(([s, l]) => `${s.replace(/-/g, '_')}=${l}`).join('; '),
      },
    );
  }

  /** Issues and their comments need `issues`; those of a pull request take `pull-requests` as well. */
  private requireIssueAccess(
    token: TokenEntry,
    repo: StoredRepo,
    issue: number,
    level: 'read' | 'write',
    doc: string,
  ): void {
    const pull = repo.issues.get(issue)?.pull ?? false;
    this.requirePermission(
      token,
      pull
        ? [
            ['issues', level],
            ['pull-requests', level],
          ]
        : [['issues', level]],
      doc,
    );
  }

  private requireAuthorOrWriter(repo: StoredRepo, c: { user: GitHubIdentity }, token: TokenEntry): void {
    if (c.user.id === token.identity.id || token.identity.login === GITHUB_ACTIONS_BOT.login) return;
    const role = repo.roles.get(token.identity.login.toLowerCase()) ?? 'none';
    if (!['admin', 'maintain', 'write'].includes(role)) {
      throw new HttpError(403, { message: 'Must have admin rights to Repository.', documentation_url: DOCS });
    }
  }

  private visibleRepo(owner: string, name: string, token: TokenEntry): StoredRepo {
    const r = this.repos.get(key(owner, name));
    if (!r) throw notFound('https://docs.github.com/rest/repos/repos#get-a-repository');
    const role = r.roles.get(token.identity.login.toLowerCase());
    // GitHub hides private repositories from those without access behind a 404.
    if (r.private && token.identity.type === 'User' && (!role || role === 'none')) throw notFound();
    return r;
  }

  private commentIn(repo: StoredRepo, id: number): StoredComment {
    const c = this.commentStore.get(id);
    if (!c || key(c.owner, c.repo) !== key(repo.owner, repo.name)) {
      throw notFound('https://docs.github.com/rest/issues/comments#get-an-issue-comment');
    }
    return c;
  }

  private storeComment(r: StoredRepo, issue: number, body: string, user: GitHubIdentity): StoredComment {
    const id = this.nextId++;
    const at = this.iso();
    const c: StoredComment = {
      id,
      node_id: nodeId('IC_', id),
      owner: r.owner,
      repo: r.name,
      issue,
      body,
      user,
      created_at: at,
      updated_at: at,
      reactions: [],
    };
    this.commentStore.set(id, c);
    return c;
  }

  private ensureRepo(fullName: string, opts: { fork?: boolean } = {}): StoredRepo {
    const [owner, name] = splitRepo(fullName);
    if (!this.repos.has(key(owner, name))) this.addRepo(fullName, opts);
    return this.repo(owner, name);
  }

  private repo(owner: string, name: string): StoredRepo {
    const r = this.repos.get(key(owner, name));
    if (!r) throw new Error(`no repository ${owner}/${name} in the GitHub stand-in`);
    return r;
  }

  private association(repo: StoredRepo, user: GitHubIdentity): string {
    if (user.login.toLowerCase() === repo.owner.toLowerCase()) return 'OWNER';
    const role = repo.roles.get(user.login.toLowerCase());
    if (role && role !== 'none') return 'COLLABORATOR';
    return 'NONE';
  }

  private userJson(u: GitHubIdentity): Record<string, unknown> {
    return {
      login: u.login,
      id: u.id,
      node_id: nodeId(u.type === 'Bot' ? 'BOT_' : 'U_', u.id),
      avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
      url: `https://api.github.com/users/${encodeURIComponent(u.login)}`,
      html_url:
        u.type === 'Bot'
          ? `https://github.com/apps/${u.login.replace(/\[bot\]$/, '')}`
          : `https://github.com/${u.login}`,
      type: u.type,
      site_admin: false,
    };
  }

  private repoJson(r: StoredRepo): Record<string, unknown> {
    const owner = this.users.get(r.owner.toLowerCase()) ?? this.addUser(r.owner);
    return {
      id: r.id,
      node_id: nodeId('R_', r.id),
      name: r.name,
      full_name: `${r.owner}/${r.name}`,
      private: r.private,
      visibility: r.private ? 'private' : 'public',
      owner: this.userJson(owner),
      html_url: `https://github.com/${r.owner}/${r.name}`,
      url: `https://api.github.com/repos/${r.owner}/${r.name}`,
      fork: r.fork,
      default_branch: r.defaultBranch,
      archived: false,
      disabled: false,
    };
  }

  private issueJson(r: StoredRepo, n: number, base: string): Record<string, unknown> {
    const issue = r.issues.get(n)!;
    const html = `https://github.com/${r.owner}/${r.name}/${issue.pull ? 'pull' : 'issues'}/${n}`;
    return {
      url: `${base}/issues/${n}`,
      html_url: html,
      number: n,
      title: issue.title,
      state: 'open',
      user: this.userJson(this.addUser(issue.author)),
      comments: this.comments(`${r.owner}/${r.name}`, n).length,
      created_at: issue.created_at,
      updated_at: issue.created_at,
      author_association: this.association(r, this.addUser(issue.author)),
      ...(issue.pull
        ? {
            pull_request: {
              url: `${base}/pulls/${n}`,
              html_url: html,
              diff_url: `${html}.diff`,
              patch_url: `${html}.patch`,
            },
          }
        : {}),
    };
  }

  private commitCommentJson(c: StoredCommitComment): Record<string, unknown> {
    const r = this.repo(c.owner, c.repo);
    return {
      id: c.id,
      node_id: c.node_id,
      url: `https://api.github.com/repos/${c.owner}/${c.repo}/comments/${c.id}`,
      html_url: `https://github.com/${c.owner}/${c.repo}/commit/${c.commit_id}#commitcomment-${c.id}`,
      body: c.body,
      path: null,
      position: null,
      line: null,
      commit_id: c.commit_id,
      user: this.userJson(c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: this.association(r, c.user),
    };
  }

  private commentJson(c: StoredComment): Record<string, unknown> {
    const r = this.repo(c.owner, c.repo);
    const pull = r.issues.get(c.issue)?.pull ?? false;
    const counts = Object.fromEntries(
      REACTIONS.map((k) => [k, c.reactions.filter((x) => x.content === k).length]),
    );
    return {
      id: c.id,
      node_id: c.node_id,
      url: `https://api.github.com/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
      html_url: `https://github.com/${c.owner}/${c.repo}/${pull ? 'pull' : 'issues'}/${c.issue}#issuecomment-${c.id}`,
      issue_url: `https://api.github.com/repos/${c.owner}/${c.repo}/issues/${c.issue}`,
      body: c.body,
      user: this.userJson(c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: this.association(r, c.user),
      performed_via_github_app: null,
      reactions: {
        url: `https://api.github.com/repos/${c.owner}/${c.repo}/issues/comments/${c.id}/reactions`,
        total_count: c.reactions.length,
        ...counts,
      },
    };
  }

  private releaseJson(r: StoredRelease, base: string): Record<string, unknown> {
    const html = `https://github.com/${r.owner}/${r.repo}/releases`;
    const tag = encodeURIComponent(r.tag_name);
    return {
      url: `${base}/releases/${r.id}`,
      html_url: r.draft ? `${html}/tag/untagged-${nodeId('', r.id)}` : `${html}/tag/${tag}`,
      assets_url: `${base}/releases/${r.id}/assets`,
      upload_url: `https://uploads.github.com/repos/${r.owner}/${r.repo}/releases/${r.id}/assets{?name,label}`,
      tarball_url: r.draft ? null : `${base}/tarball/${tag}`,
      zipball_url: r.draft ? null : `${base}/zipball/${tag}`,
      id: r.id,
      node_id: nodeId('RE_', r.id),
      tag_name: r.tag_name,
      target_commitish: r.target_commitish,
      name: r.name,
      draft: r.draft,
      prerelease: r.prerelease,
      immutable: false,
      created_at: r.created_at,
      published_at: r.published_at,
      updated_at: r.created_at,
      author: this.userJson(r.author),
      assets: [],
      body: r.body,
    };
  }

  private reactionJson(r: StoredReaction): Record<string, unknown> {
    return {
      id: r.id,
      node_id: r.node_id,
      user: this.userJson(r.user),
      content: r.content,
      created_at: r.created_at,
    };
  }

  private pullJson(r: StoredRepo, pr: StoredPull, base: string): Record<string, unknown> {
    const html = `https://github.com/${r.owner}/${r.name}/pull/${pr.number}`;
    const author = this.addUser(pr.author);
    const headRepo = pr.fork ? this.repo(...splitRepo(pr.fork)) : r;
    const ref = (
      label: string,
      refName: string,
      shaValue: string,
      repo: StoredRepo,
    ): Record<string, unknown> => ({
      label: `${repo.owner}:${label}`,
      ref: refName,
      sha: shaValue,
      user: this.userJson(this.addUser(repo.owner)),
      repo: this.repoJson(repo),
    });
    return {
      url: `${base}/pulls/${pr.number}`,
      id: pr.id,
      node_id: nodeId('PR_', pr.id),
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: `${base}/issues/${pr.number}`,
      number: pr.number,
      state: pr.state,
      locked: false,
      title: pr.title,
      body: pr.body,
      user: this.userJson(author),
      draft: pr.draft,
      created_at: pr.created_at,
      updated_at: pr.updated_at,
      merged: false,
      mergeable: pr.mergeCommitSha ? true : null,
      merge_commit_sha: pr.mergeCommitSha,
      head: ref(pr.headRef, pr.headRef, pr.headSha, headRepo),
      base: ref(pr.baseRef, pr.baseRef, pr.baseSha, r),
      author_association: this.association(r, author),
    };
  }

  private now(): number {
    return this.clock ? this.clock.now() : Date.now();
  }

  private iso(): string {
    return new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

/** What a token may do with one permission. */
function levelOf(t: TokenEntry, scope: PermissionScope): PermissionLevel {
  const p = t.permissions;
  let level: PermissionLevel =
    p === undefined || p === 'write-all' ? 'write' : p === 'read-all' ? 'read' : (p[scope] ?? 'none');
  if (scope === 'metadata' && level === 'none') level = 'read';
  if (t.readOnly && level === 'write') level = 'read';
  return level;
}

/** The environment of a git child: none of the caller's repository variables, no global or system config. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return { ...env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull, LC_ALL: 'C' };
}

/** Runs git in `dir`; resolves with its exit code and output, rejects only when git cannot be started. */
function git(dir: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string }> {
  const child = spawn('git', ['-C', dir, ...args], { env: gitEnv(), stdio: ['pipe', 'pipe', 'ignore'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8') }));
  });
}

/** The commit SHA each of `names` resolves to in `dir` (undefined: no such commit, or ambiguous). */
async function gitCommits(dir: string, names: string[]): Promise<(string | undefined)[]> {
  const input = names.map((n) => `${n}^{commit}\n`).join('');
  const { stdout } = await git(dir, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], input);
  return stdout
    .split('\n')
    .slice(0, names.length)
    .map((line) => /^([0-9a-f]{40}) commit$/.exec(line)?.[1]);
}

/** Runs git in `dir` synchronously (for the test's setup calls); its trimmed output, or undefined on failure. */
function gitSync(dir: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', ['-C', dir, ...args], { env: gitEnv(), stdio: ['ignore', 'pipe', 'ignore'] })
      .toString('utf8')
      .trim();
  } catch {
    return undefined;
  }
}

function validationFailed(resource: string, field: string, code: string, message: string): HttpError {
  return new HttpError(422, {
    message: 'Validation Failed',
    errors: [{ resource, code, field, message }],
    documentation_url: 'https://docs.github.com/rest/issues/comments',
  });
}

/** GitHub's 422 for a release it will not create, with its validation errors. */
function releaseInvalid(...errors: Record<string, string>[]): HttpError {
  return new HttpError(422, {
    message: 'Validation Failed',
    errors,
    documentation_url: DOC_CREATE_RELEASE,
  });
}

/** The `permissions` flags GitHub shows on a collaborator, each implied by the stronger ones. */
function permissionFlags(role: RepoRole): Record<'admin' | 'maintain' | 'push' | 'triage' | 'pull', boolean> {
  const heldBy = (roles: RepoRole[]): boolean => roles.includes(role);
  return {
    admin: heldBy(['admin']),
    maintain: heldBy(['admin', 'maintain']),
    push: heldBy(['admin', 'maintain', 'write']),
    triage: heldBy(['admin', 'maintain', 'write', 'triage']),
    pull: heldBy(['admin', 'maintain', 'write', 'triage', 'read']),
  };
}

function permissionOf(role: RepoRole): 'admin' | 'write' | 'read' | 'none' {
  if (role === 'admin') return 'admin';
  if (role === 'maintain' || role === 'write') return 'write';
  if (role === 'triage' || role === 'read') return 'read';
  return 'none';
}

function splitRepo(fullName: string): [string, string] {
  const [owner, name, extra] = fullName.split('/');
  if (!owner || !name || extra !== undefined)
    throw new Error(`repository must be owner/name, got ${fullName}`);
  return [owner, name];
}

function key(owner: string, name: string): string {
  return `${owner}/${name}`.toLowerCase();
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}${Buffer.from(`bed:${id}`).toString('base64url')}`;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

function origin(req: BedRequest): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`;
}
