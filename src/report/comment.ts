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

/**
 * Creates or updates the comment carrying `marker` on commit `sha`: where a run that came from no pull request
 * (a schedule, a push) gets its report.
 */
export async function upsertCommitComment(opts: {
  token: string;
  apiUrl: string;
  repository: string;
  sha: string;
  marker: string;
  body: string;
}): Promise<{ id: number; url: string; action: 'created' | 'updated' }> {
  const octokit = getOctokit(opts.token, { baseUrl: opts.apiUrl });
  const [owner, repo] = opts.repository.split('/');
  const me = await tokenIdentity(octokit);
  const comments = await octokit.paginate(octokit.rest.repos.listCommentsForCommit, {
    owner,
    repo,
    commit_sha: opts.sha,
    per_page: 100,
  });
  const mine = ownComment(comments, opts.marker, me);
  if (mine) {
    const { data } = await octokit.rest.repos.updateCommitComment({
      owner,
      repo,
      comment_id: mine.id,
      body: opts.body,
    });
    return { id: data.id, url: data.html_url, action: 'updated' };
  }
  const { data } = await octokit.rest.repos.createCommitComment({
    owner,
    repo,
    commit_sha: opts.sha,
    body: opts.body,
  });
  return { id: data.id, url: data.html_url, action: 'created' };
}

/** Creates or updates the comment carrying `marker` on issue/PR `number`; returns its id, URL and what it did. */
export async function upsertComment(opts: {
  token: string;
  apiUrl: string;
  repository: string;
  number: number;
  marker: string;
  body: string;
}): Promise<{ id: number; url: string; action: 'created' | 'updated' }> {
  const octokit = getOctokit(opts.token, { baseUrl: opts.apiUrl });
  const [owner, repo] = opts.repository.split('/');
  const me = await tokenIdentity(octokit);
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner,
    repo,
    issue_number: opts.number,
    per_page: 100,
  });
  const mine = ownComment(comments, opts.marker, me);
  if (mine) {
    const { data } = await octokit.rest.issues.updateComment({
      owner,
      repo,
      comment_id: mine.id,
      body: opts.body,
    });
    return { id: data.id, url: data.html_url, action: 'updated' };
  }
  const { data } = await octokit.rest.issues.createComment({
    owner,
    repo,
    issue_number: opts.number,
    body: opts.body,
  });
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
