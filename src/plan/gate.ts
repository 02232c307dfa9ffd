import type { getOctokit } from '@actions/github';

type Octokit = ReturnType<typeof getOctokit>;

/** GitHub's permission levels, weakest first, as the collaborator permission API reports them. */
const LEVELS = ['none', 'read', 'triage', 'write', 'maintain', 'admin'] as const;
export type PermissionLevel = (typeof LEVELS)[number];

/** Whether `have` reaches `need`; an unknown level reaches nothing. */
export function permits(have: string, need: PermissionLevel): boolean {
  const i = LEVELS.indexOf(have as PermissionLevel);
  return i >= 0 && i >= LEVELS.indexOf(need);
}

/** The decision on one `/gce-matrix run` comment. */
export interface CommentGate {
  readonly allowed: boolean;
  readonly login: string;
  readonly permission: string;
}

interface CommentPayload {
  comment?: { id?: number; user?: { login?: string } };
  issue?: { number?: number };
  repository?: { name?: string; owner?: { login?: string } };
}

/**
 * Decides whether the author of a PR comment command may launch VMs: the author's permission is asked of the
 * API (never taken from the payload's author_association), acknowledged with a reaction, and a refusal is
 * explained in a reply. Nothing here touches the cloud.
 */
export async function gateComment(
  octokit: Octokit,
  payload: unknown,
  required: PermissionLevel,
): Promise<CommentGate> {
  const p = payload as CommentPayload;
  const owner = p.repository?.owner?.login ?? '';
  const repo = p.repository?.name ?? '';
  const login = p.comment?.user?.login ?? '';
  const commentId = p.comment?.id;
  const issueNumber = p.issue?.number;
  let permission = 'none';
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner,
      repo,
      username: login,
    });
    permission = data.permission;
  } catch (err) {
    // GitHub answers 404 for a user who is no collaborator at all: that is "none", not a failure.
    if ((err as { status?: number }).status !== 404) throw err;
  }
  const allowed = permits(permission, required);
  if (commentId !== undefined) {
    await octokit.rest.reactions.createForIssueComment({
      owner,
      repo,
      comment_id: commentId,
      content: allowed ? 'rocket' : '-1',
    });
  }
  if (!allowed && issueNumber !== undefined) {
    await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: issueNumber,
      body:
        `gce-matrix: \`/gce-matrix run\` needs ${required} permission on this repository; the commenter has ` +
        `${permission}. Nothing was launched.`,
    });
  }
  return { allowed, login, permission };
}
