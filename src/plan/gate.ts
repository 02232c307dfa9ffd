import type { getOctokit } from '@actions/github';
import { escapeMarkdown } from '../markdown.ts';

type Octokit = ReturnType<typeof getOctokit>;

/** GitHub's repository roles, weakest first; `none` is no access at all. */
const LEVELS = ['none', 'read', 'triage', 'write', 'maintain', 'admin'] as const;
export type PermissionLevel = (typeof LEVELS)[number];

function isLevel(text: string): text is PermissionLevel {
  return (LEVELS as readonly string[]).includes(text);
}

/** Whether `have` reaches `need`; an unknown level reaches nothing. */
export function permits(have: string, need: PermissionLevel): boolean {
  return isLevel(have) && LEVELS.indexOf(have) >= LEVELS.indexOf(need);
}

/** What the collaborator permission API answers for a user. */
export interface CollaboratorAnswer {
  /** The legacy base role (admin, write, read, none): maintain reads as write, triage as read. */
  readonly permission: string;
  /** The role itself: a built-in one or a custom repository role's name; absent where the API predates it. */
  readonly roleName: string | undefined;
}

/** How a user's answer measures up to the level a command needs. */
export interface PermissionDecision {
  readonly allowed: boolean;
  /** What the user holds, in words for the log and the reply. */
  readonly held: string;
}

/**
 * Judges the collaborator permission API's answer by its role name, which tells triage from read and maintain
 * from write. A custom role's name says nothing about its strength, so it is judged by its legacy base
 * permission, and the words say so.
 */
export function decidePermission(answer: CollaboratorAnswer, required: PermissionLevel): PermissionDecision {
  const role = answer.roleName ?? '';
  if (isLevel(role)) return { allowed: permits(role, required), held: role };
  const allowed = permits(answer.permission, required);
  if (!role) return { allowed, held: answer.permission };
  return {
    allowed,
    held: `the custom role ${JSON.stringify(role)}, counted as its base permission ${answer.permission}`,
  };
}

/** The decision on one `/gce-matrix run` comment. */
export interface CommentGate {
  readonly allowed: boolean;
  readonly login: string;
  /** What the commenter holds, in words (see {@link decidePermission}). */
  readonly held: string;
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
  let answer: CollaboratorAnswer = { permission: 'none', roleName: 'none' };
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner,
      repo,
      username: login,
    });
    answer = { permission: data.permission, roleName: data.role_name };
  } catch (err) {
    // GitHub answers 404 for a user who is no collaborator at all: that is "none", not a failure.
    if ((err as { status?: number }).status !== 404) throw err;
  }
  const { allowed, held } = decidePermission(answer, required);
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
        `${escapeMarkdown(held)}. Nothing was launched.`,
    });
  }
  return { allowed, login, held };
}
