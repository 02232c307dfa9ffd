/**
 * Baselines in Cloud Storage: PREFIX/baselines/<ref>/latest.json, and the same per commit as <sha>.json.
 * Writes are single-request uploads with a generation precondition: resumable session starts carry no token
 * on custom endpoints, and a write without a precondition turns the library's retries off for the client.
 */
import type { Storage } from '@google-cloud/storage';
import type { Baseline } from './compare.ts';
import { parseBaseline } from './compare.ts';
import type { History, HistoryEntry } from './history.ts';
import { appendHistory, parseHistory } from './history.ts';

const SHA = /^[0-9a-f]{7,64}$/;

/** Object names of a branch's baselines. */
export function baselineObjects(
  prefix: string,
  ref: string,
  sha?: string,
): { latest: string; bySha?: string } {
  const base = branchFolder(prefix, ref);
  return {
    latest: `${base}latest.json`,
    ...(sha && SHA.test(sha) ? { bySha: `${base}${sha}.json` } : {}),
  };
}

function branchFolder(prefix: string, ref: string): string {
  const head = prefix.replace(/^\/+|\/+$/g, '');
  return `${head ? `${head}/` : ''}baselines/${encodeURIComponent(ref)}/`;
}

/** The object of a branch's run-to-run history (the last recorded runs, summarised). */
export function historyObject(prefix: string, ref: string): string {
  return `${branchFolder(prefix, ref)}history.json`;
}

function status(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Replaces `name` with what `next` makes of its current bytes (undefined when there is none; only read when
 * `read` is set), with the generation seen as precondition: a racing writer's 412 makes it look again, up to
 * `attempts` times.
 */
async function replaceGuarded(
  storage: Storage,
  bucket: string,
  name: string,
  next: (current: Buffer | undefined) => string,
  opts: { read: boolean; attempts: number },
): Promise<void> {
  const file = storage.bucket(bucket).file(name);
  for (let attempt = 1; ; attempt++) {
    let generation = 0;
    let current: Buffer | undefined;
    try {
      const [meta] = await file.getMetadata();
      generation = Number(meta.generation ?? 0);
      // Read after the generation: text newer than that generation fails the precondition below, never
      // the other way round.
      if (opts.read) [current] = await file.download();
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
    try {
      await file.save(next(current), {
        resumable: false,
        contentType: 'application/json',
        preconditionOpts: { ifGenerationMatch: generation },
      });
      return;
    } catch (err) {
      if (status(err) !== 412 || attempt >= opts.attempts) throw err;
    }
  }
}

/** Writes `text` to `name`, replacing the generation seen just before (412 from a racing writer: try again). */
async function writeGuarded(storage: Storage, bucket: string, name: string, text: string): Promise<void> {
  await replaceGuarded(storage, bucket, name, () => text, { read: false, attempts: 3 });
}

/** Records `baseline` as the branch's latest and (with a sha) as that commit's; returns the object names. */
export async function recordBaseline(
  storage: Storage,
  bucket: string,
  prefix: string,
  baseline: Baseline,
): Promise<string[]> {
  const names = baselineObjects(prefix, baseline.ref, baseline.sha);
  const text = JSON.stringify(baseline);
  const written: string[] = [];
  if (names.bySha) {
    await writeGuarded(storage, bucket, names.bySha, text);
    written.push(names.bySha);
  }
  await writeGuarded(storage, bucket, names.latest, text);
  written.push(names.latest);
  return written;
}

async function readBaseline(storage: Storage, bucket: string, name: string): Promise<Baseline | undefined> {
  try {
    const [buf] = await storage.bucket(bucket).file(name).download();
    return parseBaseline(buf.toString('utf8'));
  } catch (err) {
    if (status(err) === 404) return undefined;
    throw err;
  }
}

/** The baseline of `mergeBase` on `ref` when recorded, else the branch's latest; undefined when neither. */
export async function findBaseline(
  storage: Storage,
  bucket: string,
  prefix: string,
  ref: string,
  mergeBase: string | undefined,
): Promise<{ baseline: Baseline; which: 'merge-base' | 'latest' } | undefined> {
  const names = baselineObjects(prefix, ref, mergeBase);
  if (names.bySha) {
    const b = await readBaseline(storage, bucket, names.bySha);
    if (b) return { baseline: b, which: 'merge-base' };
  }
  const latest = await readBaseline(storage, bucket, names.latest);
  return latest ? { baseline: latest, which: 'latest' } : undefined;
}

/** What appending to a branch's history did. */
export interface HistoryWrite {
  readonly object: string;
  readonly history: History;
  /** Set when an unreadable history.json was replaced by a new one. */
  readonly replaced?: string;
}

/**
 * Appends `entry` to the branch's history.json, keeping the newest `keep`: read, modify, and write with the read
 * generation as precondition, so two recorders racing cannot drop each other's entry (412: read again).
 */
export async function appendHistoryEntry(
  storage: Storage,
  bucket: string,
  prefix: string,
  ref: string,
  entry: HistoryEntry,
  keep: number,
): Promise<HistoryWrite> {
  const name = historyObject(prefix, ref);
  let history: History | undefined;
  let replaced: string | undefined;
  await replaceGuarded(
    storage,
    bucket,
    name,
    (buf) => {
      const current = buf ? parseHistory(buf.toString('utf8')) : undefined;
      replaced = buf && !current ? `${name} was not a history (replaced by a new one)` : undefined;
      history = appendHistory(current, entry, { ref, keep });
      return JSON.stringify(history);
    },
    { read: true, attempts: 5 },
  );
  if (!history) throw new Error(`${name} was not written`);
  return { object: name, history, ...(replaced ? { replaced } : {}) };
}

/** The branch's history; undefined when none was recorded; throws when it cannot be read or is not one. */
export async function readHistory(
  storage: Storage,
  bucket: string,
  prefix: string,
  ref: string,
): Promise<History | undefined> {
  const name = historyObject(prefix, ref);
  let text: string;
  try {
    const [buf] = await storage.bucket(bucket).file(name).download();
    text = buf.toString('utf8');
  } catch (err) {
    if (status(err) === 404) return undefined;
    throw err;
  }
  const history = parseHistory(text);
  if (!history) throw new Error(`${name} is not a history (not JSON of schema 1)`);
  return history;
}
