/**
 * Real webhook payloads (@octokit/webhooks-examples, api.github.com) as workflow events, with the fields a
 * test cares about (repository, PR number, comment body, author) overridden consistently. The `schedule`
 * event has no example there; it is synthesized from the real repository and sender objects.
 */
import { createRequire } from 'node:module';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

/** An event as a step sees it: GITHUB_EVENT_NAME and the GITHUB_EVENT_PATH contents. */
export interface WorkflowEvent {
  readonly name: string;
  readonly payload: Record<string, unknown>;
}

/** Overrides applied to a loaded payload. */
export interface EventOverrides {
  /** `owner/name`: rewrites `repository` (and every URL naming the old repository). */
  repo?: string;
  /** Issue or pull request number. */
  number?: number;
  /** Comment body (issue_comment). */
  body?: string;
  /** Login of the comment author / PR author / sender. */
  author?: string;
  /** `User` or `Bot`; default `User`. */
  authorType?: 'User' | 'Bot';
  /** e.g. OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE. */
  authorAssociation?: string;
  /** Deep-merged into the payload last. */
  merge?: Record<string, unknown>;
}

interface Definition {
  name: string;
  examples: Record<string, unknown>[];
}

const require = createRequire(import.meta.url);
let definitions: Definition[] | undefined;

function examples(name: string): Record<string, unknown>[] {
  definitions ??= require('@octokit/webhooks-examples') as Definition[];
  const def = definitions.find((d) => d.name === name);
  if (!def) throw new Error(`@octokit/webhooks-examples has no ${name} event`);
  return def.examples;
}

/**
 * Loads a real example payload of `name` (first match of `action` and `where`), deep-copied and overridden.
 */
export function loadEvent(
  name: string,
  opts: EventOverrides & { action?: string; where?: (payload: Record<string, unknown>) => boolean } = {},
): WorkflowEvent {
  if (name === 'schedule') return scheduleEvent('0 3 * * *', opts);
  const found = examples(name).find(
    (p) =>
      (opts.action === undefined || p.action === opts.action) && (opts.where === undefined || opts.where(p)),
  );
  if (!found) throw new Error(`no ${name} example with action=${opts.action ?? '*'} matching the predicate`);
  return { name, payload: override(structuredClone(found), opts) };
}

/** An `issue_comment` `created` event on a pull request (GitHub marks that with `issue.pull_request`). */
export function issueCommentOnPullRequest(opts: EventOverrides = {}): WorkflowEvent {
  const ev = loadEvent('issue_comment', { action: 'created' });
  const issue = ev.payload.issue as Record<string, unknown>;
  const repo = ev.payload.repository as { full_name: string; url: string; html_url: string };
  const n = issue.number as number;
  issue.pull_request = {
    url: `${repo.url}/pulls/${n}`,
    html_url: `${repo.html_url}/pull/${n}`,
    diff_url: `${repo.html_url}/pull/${n}.diff`,
    patch_url: `${repo.html_url}/pull/${n}.patch`,
    merged_at: null,
  };
  issue.html_url = `${repo.html_url}/pull/${n}`;
  return { name: ev.name, payload: override(ev.payload, opts) };
}

/** A `pull_request` event (default `opened`). */
export function pullRequestEvent(action = 'opened', opts: EventOverrides = {}): WorkflowEvent {
  return loadEvent('pull_request', { ...opts, action });
}

/** A `workflow_dispatch` event with the given inputs and ref. */
export function workflowDispatchEvent(
  inputs: Record<string, string | boolean | number> = {},
  opts: EventOverrides & { ref?: string } = {},
): WorkflowEvent {
  const ev = loadEvent('workflow_dispatch', opts);
  ev.payload.inputs = inputs;
  if (opts.ref) ev.payload.ref = opts.ref;
  return ev;
}

/** A `workflow_run` event (default `completed`). */
export function workflowRunEvent(action = 'completed', opts: EventOverrides = {}): WorkflowEvent {
  return loadEvent('workflow_run', { ...opts, action });
}

/** A `schedule` event: `{ schedule, repository, organization, sender, workflow }` built from real objects. */
export function scheduleEvent(cron = '0 3 * * *', opts: EventOverrides = {}): WorkflowEvent {
  const base = structuredClone(examples('workflow_dispatch')[0]);
  const payload: Record<string, unknown> = {
    schedule: cron,
    repository: base.repository,
    organization: base.organization,
    sender: base.sender,
    workflow: base.workflow ?? '.github/workflows/nightly.yml',
  };
  return { name: 'schedule', payload: override(payload, opts) };
}

/** Writes the payload where GITHUB_EVENT_PATH will point; returns the path. */
export async function writeEventFile(dir: string, event: WorkflowEvent): Promise<string> {
  const file = path.join(dir, 'event.json');
  await writeFile(file, JSON.stringify(event.payload, null, 2));
  return file;
}

function override(payload: Record<string, unknown>, o: EventOverrides): Record<string, unknown> {
  let p = payload;
  const repo = p.repository as { full_name?: string } | undefined;
  if (o.repo && repo?.full_name) {
    const [owner, name] = o.repo.split('/');
    if (!owner || !name) throw new Error(`repo must be owner/name, got ${o.repo}`);
    const [oldOwner] = repo.full_name.split('/');
    p = replaceStrings(p, repo.full_name, o.repo) as Record<string, unknown>;
    const r = p.repository as Record<string, unknown>;
    r.name = name;
    r.full_name = o.repo;
    const ownerObj = r.owner as Record<string, unknown> | undefined;
    if (ownerObj && ownerObj.login === oldOwner) {
      ownerObj.login = owner;
      ownerObj.url = `https://api.github.com/users/${owner}`;
      ownerObj.html_url = `https://github.com/${owner}`;
    }
  }
  const issue = (p.issue ?? p.pull_request) as Record<string, unknown> | undefined;
  if (o.number !== undefined) {
    if (issue && typeof issue.number === 'number') {
      const old = issue.number;
      for (const target of [p.issue, p.pull_request, p.comment]) {
        if (target && typeof target === 'object') renumber(target as Record<string, unknown>, old, o.number);
      }
      issue.number = o.number;
    }
    if (typeof p.number === 'number') p.number = o.number;
  }
  const comment = p.comment as Record<string, unknown> | undefined;
  if (o.body !== undefined && comment) comment.body = o.body;
  if (o.author !== undefined) {
    const user = {
      login: o.author,
      id: idFor(o.author),
      node_id: Buffer.from(`04:User${idFor(o.author)}`).toString('base64'),
      avatar_url: `https://avatars.githubusercontent.com/u/${idFor(o.author)}?v=4`,
      url: `https://api.github.com/users/${o.author}`,
      html_url: `https://github.com/${o.author}`,
      type: o.authorType ?? 'User',
      site_admin: false,
    };
    if (comment) comment.user = { ...(comment.user as object), ...user };
    else if (issue) issue.user = { ...(issue.user as object), ...user };
    p.sender = { ...(p.sender as object), ...user };
  }
  if (o.authorAssociation !== undefined) {
    if (comment) comment.author_association = o.authorAssociation;
    else if (issue) issue.author_association = o.authorAssociation;
  }
  if (o.merge) p = deepMerge(p, o.merge);
  return p;
}

function renumber(obj: Record<string, unknown>, from: number, to: number): void {
  const re = new RegExp(`/(issues|pull|pulls)/${from}(?=$|[/#.?])`, 'g');
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'string' && k.endsWith('url')) obj[k] = v.replace(re, `/$1/${to}`);
    else if (v && typeof v === 'object' && !Array.isArray(v))
      renumber(v as Record<string, unknown>, from, to);
  }
}

function replaceStrings(v: unknown, from: string, to: string): unknown {
  if (typeof v === 'string') return v.split(from).join(to);
  if (Array.isArray(v)) return v.map((x) => replaceStrings(x, from, to));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceStrings(x, from, to)]));
  }
  return v;
}

function deepMerge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(patch)) {
    const cur = target[k];
    if (
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      cur &&
      typeof cur === 'object' &&
      !Array.isArray(cur)
    ) {
      target[k] = deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      target[k] = v;
    }
  }
  return target;
}

/** A stable fake numeric id for a login. */
function idFor(login: string): number {
  let h = 7;
  for (const c of login) h = (h * 31 + c.charCodeAt(0)) % 90_000_000;
  return 10_000_000 + h;
}
