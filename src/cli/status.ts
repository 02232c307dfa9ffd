import type { Storage } from '@google-cloud/storage';
import { classifyError } from '../gcp/errors.ts';
import type { RunLocation } from '../layout.ts';
import { experimentObjects, parseStatus } from '../layout.ts';
import { parseHeartbeat } from '../collect/manifest.ts';
import { startLocalCloud } from '../local/cloud.ts';
import { localContext, readRunRecord, runPaths } from './local-run.ts';
import { localLaunchSettings } from '../local/settings.ts';
import { formatElapsed } from './progress.ts';
import { ExperimentResults } from '../gcp/results.ts';
import { printable } from '../text.ts';

/** Where one experiment of a run is. */
export interface StatusRow {
  readonly id: string;
  /** A final state, `running`, `not started`, or `unreadable`. */
  readonly state: string;
  readonly attempt: number | undefined;
  readonly exitCode: number | null | undefined;
  readonly detail: string;
}

async function readText(storage: Storage, location: RunLocation, name: string): Promise<string | undefined> {
  try {
    const [buf] = await storage.bucket(location.bucket).file(name).download();
    return buf.toString('utf8');
  } catch (err) {
    if (classifyError(err).kind === 'not-found') return undefined;
    throw err;
  }
}

/** Reads each experiment's status (or heartbeat) from the run's bucket, as launch and collect read them. */
export async function readRunStatus(
  storage: Storage,
  location: RunLocation,
  ids: readonly string[],
  now: number = Date.now(),
): Promise<StatusRow[]> {
  const rows: StatusRow[] = [];
  for (const id of ids) {
    const objects = experimentObjects(location, id);
    const statusText = await readText(storage, location, objects.status);
    if (statusText !== undefined) {
      try {
        const s = parseStatus(statusText, objects.status);
        const took =
          s.startedAt && s.endedAt ? formatElapsed(Date.parse(s.endedAt) - Date.parse(s.startedAt)) : '';
        rows.push({
          id,
          state: s.state,
          attempt: s.attempt,
          exitCode: s.exitCode,
          detail: [took && `took ${took}`, s.reason].filter(Boolean).join('; '),
        });
      } catch (err) {
        rows.push({
          id,
          state: 'unreadable',
          attempt: undefined,
          exitCode: undefined,
          detail: (err as Error).message,
        });
      }
      continue;
    }
    const last = await new ExperimentResults(storage, location, id, { compute: 0, storage: 0 }).lastAttempt();
    const beat = last === 0 ? undefined : await readText(storage, location, objects.attempt(last).heartbeat);
    const hb = beat === undefined ? undefined : parseHeartbeat(beat);
    rows.push(
      hb
        ? {
            id,
            state: 'running',
            attempt: hb.attempt,
            exitCode: undefined,
            detail: `${hb.phase}, last heartbeat ${formatElapsed(now - Date.parse(hb.at))} ago`,
          }
        : { id, state: 'not started', attempt: undefined, exitCode: undefined, detail: '' },
    );
  }
  return rows;
}

/** The status of a local run directory, read through its local bucket. */
export async function localStatus(runDir: string): Promise<StatusRow[]> {
  const record = await readRunRecord(runDir);
  const ctx = localContext(record.runId, runDir);
  const location =
    record.experiments.length > 0
      ? localLaunchSettings(record.experiments[0], record.inputs, ctx).results
      : undefined;
  if (!location) return [];
  const cloud = await startLocalCloud(runPaths(runDir).bucket);
  try {
    return await readRunStatus(
      cloud.storageClient,
      location,
      record.experiments.map((e) => e.id),
    );
  } finally {
    await cloud.close();
  }
}

/** Status rows as aligned text lines, with a count line first. */
export function statusTable(rows: readonly StatusRow[]): string[] {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const head = `${rows.length} experiment(s): ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}`;
  const idWidth = Math.min(60, Math.max(10, ...rows.map((r) => r.id.length)));
  return [
    head,
    ...rows.map(
      (r) =>
        `  ${printable(r.id).padEnd(idWidth)}  ${r.state.padEnd(11)}  ${r.attempt === undefined ? ' ' : String(r.attempt)}  ` +
        `${r.exitCode === undefined || r.exitCode === null ? '' : `exit ${r.exitCode}  `}${printable(r.detail)}`,
    ),
  ];
}
