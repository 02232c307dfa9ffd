/**
 * The report's one PR comment: found by its hidden marker among the comments the token's identity wrote
 * (every page), updated in place, or created when there is none.
 */
import { getOctokit } from '@actions/github';

type Octokit = ReturnType<typeof getOctokit>;

/** Who the token posts as. A GITHUB_TOKEN cannot read /user (403): it is github-actions[bot]. */
export async function tokenIdentity(octokit: Octokit): Promise<{ login: string | undefined; type: string }> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return { login: data.login, type: data.type };
  } catch {
    return { login: undefined, type: 'Bot' };
  }
}

/** The comment among `comments` that carries `marker` and was written by the token's identity. */
function ownComment<C extends { body?: string | null; user?: { login: string; type: string } | null }>(
  comments: readonly C[],
  marker: string,
  me: { login: string | undefined; type: string },
): C | undefined {
  return comments.find(
    (c) =>
      typeof c.body === 'string' &&
      c.body.includes(marker) &&
      c.user?.type === me.type &&
      (me.login ? c.user.login === me.login : c.user.login.endsWith('[bot]')),
  );
}

/** Where the report's comment goes: a pull request (or issue), or a commit for a run that came from none. */
export type CommentTarget = { readonly number: number } | { readonly sha: string };

/**
 * Creates or updates the comment carrying `marker` on `target` (every page of its comments searched, only the
 * token's own considered); returns its id, URL and what it did.
 */
export async function upsertComment(opts: {
  token: string;
  apiUrl: string;
  repository: string;
  target: CommentTarget;
  marker: string;
  body: string;
}): Promise<{ id: number; url: string; action: 'created' | 'updated' }> {
  const octokit = getOctokit(opts.token, { baseUrl: opts.apiUrl });
  const [owner, repo] = opts.repository.split('/');
  const me = await tokenIdentity(octokit);
  const t = opts.target;
  const comments: { id: number; body?: string | null; user?: { login: string; type: string } | null }[] =
    'sha' in t
      ? await octokit.paginate(octokit.rest.repos.listCommentsForCommit, {
          owner,
          repo,
          commit_sha: t.sha,
          per_page: 100,
        })
      : await octokit.paginate(octokit.rest.issues.listComments, {
          owner,
          repo,
          issue_number: t.number,
          per_page: 100,
        });
  const mine = ownComment(comments, opts.marker, me);
  const edit = { owner, repo, body: opts.body };
  if (mine) {
    const { data } =
      'sha' in t
        ? await octokit.rest.repos.updateCommitComment({ ...edit, comment_id: mine.id })
        : await octokit.rest.issues.updateComment({ ...edit, comment_id: mine.id });
    return { id: data.id, url: data.html_url, action: 'updated' };
  }
  const { data } =
    'sha' in t
      ? await octokit.rest.repos.createCommitComment({ ...edit, commit_sha: t.sha })
      : await octokit.rest.issues.createComment({ ...edit, issue_number: t.number });
  return { id: data.id, url: data.html_url, action: 'created' };
}

/** The PR's base branch and merge base (the compare API's, else the PR's base sha), when GitHub says. */
export async function pullRequestBase(opts: {
  token: string;
  apiUrl: string;
  repository: string;
  number: number;
}): Promise<{ ref: string; mergeBase: string | undefined } | undefined> {
  const octokit = getOctokit(opts.token, { baseUrl: opts.apiUrl });
  const [owner, repo] = opts.repository.split('/');
  let pr;
  try {
    ({ data: pr } = await octokit.rest.pulls.get({ owner, repo, pull_number: opts.number }));
  } catch {
    return undefined;
  }
  try {
    const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
      owner,
      repo,
      basehead: `${pr.base.sha}...${pr.head.sha}`,
      per_page: 1,
    });
    return { ref: pr.base.ref, mergeBase: data.merge_base_commit.sha };
  } catch {
    return { ref: pr.base.ref, mergeBase: pr.base.sha };
  }
}
