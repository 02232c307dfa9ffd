import { ConfigurationError } from '../errors.ts';
import type { Experiment } from '../launch/settings.ts';
import { escapeMarkdown } from '../markdown.ts';
import { metricInfosJson } from '../report/metric-info.ts';
import type { Plan } from './expand.ts';

/** GitHub keeps at most 1 MB of outputs per job. */
const OUTPUT_LIMIT = 1_000_000;
/** Rows of the job-summary table; the rest is counted, not listed. */
const SUMMARY_ROWS = 500;

function matrix(experiments: readonly Experiment[]): { include: { experiment: Experiment }[] } {
  return { include: experiments.map((experiment) => ({ experiment })) };
}

/**
 * The step's outputs: `matrix` (every leg, `{"include":[{"experiment":{...}}]}`: an experiment, or a packed leg
 * of experiments sharing a VM), `batches` (a JSON array of such matrices, each within batch-size), `batch-count`,
 * `count` (experiments), `legs` (legs, one VM each), `run-id`, `axes`, `repetitions`, and for actions/report
 * `title` (empty when the spec has none) and `metrics` (the spec's declarations as JSON, `{}` when none).
 */
export function planOutputs(plan: Plan, runId: string): Record<string, string> {
  const outputs = {
    matrix: JSON.stringify(matrix(plan.legs)),
    batches: JSON.stringify(plan.batches.map(matrix)),
    'batch-count': String(plan.batches.length),
    count: String(plan.experiments.length),
    legs: String(plan.legs.length),
    'run-id': runId,
    axes: JSON.stringify(plan.axes),
    repetitions: String(plan.repetitions),
    title: plan.title ?? '',
    metrics: metricInfosJson(plan.metrics ?? new Map()),
  };
  const size = Object.values(outputs).reduce((n, v) => n + Buffer.byteLength(v), 0);
  if (size > OUTPUT_LIMIT) {
    throw new ConfigurationError(
      `the plan's outputs take ${size} bytes and GitHub keeps at most ${OUTPUT_LIMIT} per job; plan fewer experiments (input max-experiments, overrides) or shorter parameter values`,
    );
  }
  return outputs;
}

/**
 * The job-summary section of a plan: counts, then one table row per experiment (untrusted text escaped), with
 * the leg (VM) each one runs on when some share one.
 */
export function planSummary(plan: Plan, runId: string): string {
  const count = plan.experiments.length;
  const legOf = new Map<string, string>();
  for (const leg of plan.legs) for (const m of leg.members ?? []) legOf.set(m.id, leg.id);
  const packed = legOf.size > 0;
  const keys = [
    ...plan.axes,
    ...new Set(plan.experiments.flatMap((e) => Object.keys(e.params)).filter((k) => !plan.axes.includes(k))),
  ];
  const withLaunch = plan.experiments.some((e) => e.launch);
  const header = [
    '#',
    'experiment',
    ...(packed ? ['vm'] : []),
    ...keys.map(escapeMarkdown),
    ...(withLaunch ? ['launch'] : []),
  ];
  const rows = plan.experiments.slice(0, SUMMARY_ROWS).map((e, i) => {
    const cells = [
      String(i + 1),
      e.id,
      ...(packed ? [legOf.get(e.id) ?? e.id] : []),
      ...keys.map((k) => (Object.hasOwn(e.params, k) ? String(e.params[k]) : '')),
      ...(withLaunch
        ? [
            Object.entries(e.launch ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(', '),
          ]
        : []),
    ];
    return `| ${cells.map(escapeMarkdown).join(' | ')} |`;
  });
  const legs = plan.legs.length;
  const vms = packed ? ` on ${legs} VM${legs === 1 ? '' : 's'}` : '';
  const batches =
    plan.batches.length > 1
      ? ` in ${plan.batches.length} batches (${plan.batches.map((b) => b.length).join(', ')}${packed ? ' VMs' : ''})`
      : '';
  const lines = [
    '### gce-matrix plan',
    '',
    `**${count} experiment${count === 1 ? '' : 's'}**${vms}${batches}, run ${escapeMarkdown(runId)}` +
      (plan.repetitions > 1 ? `, ${plan.repetitions} repetitions each` : '') +
      (plan.axes.length ? `; axes: ${plan.axes.map(escapeMarkdown).join(', ')}` : '') +
      '.',
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => ' --- ').join('|')}|`,
    ...rows,
  ];
  if (count > SUMMARY_ROWS) lines.push('', `... and ${count - SUMMARY_ROWS} more.`);
  return `${lines.join('\n')}\n`;
}
