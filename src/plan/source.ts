import { ConfigurationError } from '../errors.ts';
import type { Experiment } from '../launch/settings.ts';
import type { GitHubSource } from '../source/github.ts';
import { resolveCommit } from '../source/github.ts';
import { FULL_SHA } from '../source/snapshot.ts';
import type { Plan } from './expand.ts';

/** The commit a run evaluates, and how it was chosen (for the log and the summary). */
export interface PlannedSource {
  readonly commit: string;
  readonly how: string;
}

interface EventShape {
  issue?: { number?: number; pull_request?: unknown };
  pull_request?: { number?: number; head?: { sha?: unknown } };
}

/**
 * Which commit the experiments run: `source-ref` when given; on a PR comment, the pull request's head as it is
 * now, when the permission gate has approved the comment (`pullHead`, read by the caller right after the
 * gate); on a pull_request event its head; else the workflow's commit.
 */
export async function plannedSource(opts: {
  readonly sourceRef: string | undefined;
  readonly eventName: string;
  readonly event: unknown;
  readonly sha: string | undefined;
  readonly github: GitHubSource | undefined;
  readonly pullHead: (number: number) => Promise<string>;
}): Promise<PlannedSource | undefined> {
  const resolve = async (ref: string, input: string): Promise<string> => {
    if (FULL_SHA.test(ref)) return ref;
    if (!opts.github) {
      throw new ConfigurationError(`${input} ${JSON.stringify(ref)} needs input github-token to be resolved`);
    }
    return resolveCommit(opts.github, ref, input);
  };
  if (opts.sourceRef) {
    return {
      commit: await resolve(opts.sourceRef, 'input source-ref'),
      how: `input source-ref ${opts.sourceRef}`,
    };
  }
  const e = (opts.event ?? {}) as EventShape;
  if (opts.eventName === 'issue_comment') {
    const n = e.issue?.number;
    if (!e.issue?.pull_request || typeof n !== 'number') {
      throw new ConfigurationError(
        `a /gce-matrix run comment on issue #${String(n)}, which is not a pull request: there is no code to benchmark; comment on a pull request`,
      );
    }
    return {
      commit: await opts.pullHead(n),
      how: `the head of pull request #${n} when the comment was approved`,
    };
  }
  const head = e.pull_request?.head?.sha;
  if (typeof head === 'string' && FULL_SHA.test(head)) {
    return { commit: head, how: `the head of pull request #${String(e.pull_request?.number)}` };
  }
  if (opts.sha && FULL_SHA.test(opts.sha)) return { commit: opts.sha, how: "the workflow's commit" };
  return undefined;
}

/**
 * Replaces every experiment's own `source-ref` (from the spec's launch settings) by the commit it names now, so
 * all of an experiment's VMs, and a branch that moves during the run, change nothing. A packed leg's launch
 * settings are pinned the same way, so its members and the leg agree.
 */
export async function pinExperimentRefs(
  plan: Plan,
  resolve: (ref: string, input: string) => Promise<string>,
): Promise<Plan> {
  const cache = new Map<string, Promise<string>>();
  const pin = async (e: Experiment): Promise<Experiment> => {
    const ref = e.launch?.['source-ref'];
    if (!ref || FULL_SHA.test(ref)) return e;
    let sha = cache.get(ref);
    if (!sha) {
      sha = resolve(ref, `launch setting source-ref of experiment ${e.members?.[0]?.id ?? e.id}`);
      cache.set(ref, sha);
    }
    return { ...e, launch: { ...e.launch, 'source-ref': await sha } };
  };
  if (!plan.experiments.some((e) => e.launch?.['source-ref'])) return plan;
  const experiments = await Promise.all(plan.experiments.map(pin));
  const legs = await Promise.all(plan.legs.map(pin));
  const byId = new Map(legs.map((e) => [e.id, e]));
  return {
    ...plan,
    experiments,
    legs,
    batches: plan.batches.map((b) => b.map((e) => byId.get(e.id) ?? e)),
  };
}
