/**
 * Reads what actions/collect left on disk: manifest.json, and per experiment its metrics.json and log tail.
 * The directory may come from an untrusted artifact (fork-safe mode), so every path is checked to stay inside
 * it, symlinks are not followed, and only bounded amounts are read.
 */
import { mapLimited } from '../concurrency.ts';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { CollectedFile, Manifest, ManifestExperiment } from '../collect/manifest.ts';
import { ConfigurationError } from '../errors.ts';
import type { ExperimentFiles } from './model.ts';

const MAX_MANIFEST = 256 * 1024 * 1024;
const MAX_METRICS = 1024 * 1024;
const LOG_TAIL_BYTES = 4096;

/** A path inside `root` for a `/`-separated relative name, or undefined when it would leave it. */
export function insideRoot(root: string, relative: string): string | undefined {
  if (typeof relative !== 'string' || relative.includes('\0') || path.isAbsolute(relative)) return undefined;
  const full = path.resolve(root, relative);
  const rel = path.relative(root, full);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? full : undefined;
}

/** Reads at most `max` bytes of a regular file (from its end with `tail`), never through a symlink. */
async function readBounded(file: string, max: number, tail = false): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return undefined;
    if (!tail && st.size > max) return undefined;
    const length = Math.min(st.size, max);
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, tail ? st.size - length : 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Reads and checks manifest.json in `root`. */
export async function readManifest(root: string): Promise<Manifest> {
  const file = path.join(root, 'manifest.json');
  const text = await readBounded(file, MAX_MANIFEST);
  if (text === undefined) {
    throw new ConfigurationError(
      `input path: ${file} is missing (or not a regular file); point path at the directory actions/collect wrote (or the downloaded artifact)`,
    );
  }
  let m: Partial<Manifest> | null;
  try {
    m = JSON.parse(text) as Partial<Manifest> | null;
  } catch (err) {
    throw new ConfigurationError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!m || m.schema !== 1 || !Array.isArray(m.experiments)) {
    throw new ConfigurationError(`${file} is not a gce-matrix manifest (schema 1 with experiments)`);
  }
  const experiments = (m.experiments as readonly Partial<ManifestExperiment>[]).filter(
    (x): x is ManifestExperiment =>
      !!x && typeof x === 'object' && typeof x.id === 'string' && typeof x.status === 'string',
  );
  return { ...(m as Manifest), experiments };
}

const FILE_READS_IN_FLIGHT = 16;

/** Metrics and log tail of every experiment in the manifest, by id. */
export async function readExperimentFiles(
  root: string,
  manifest: Manifest,
): Promise<Map<string, ExperimentFiles>> {
  const out = new Map<string, ExperimentFiles>();
  await mapLimited(manifest.experiments, FILE_READS_IN_FLIGHT, async (x) => {
    const files: { metrics?: Record<string, unknown>; logTail?: string; serialTail?: string } = {};
    const names = new Set(
      (Array.isArray(x.files) ? (x.files as readonly Partial<CollectedFile>[]) : []).map((f) => f?.path),
    );
    const dir = typeof x.dir === 'string' ? x.dir : x.id;
    const metricsName = `${dir}/outputs/metrics.json`;
    const metricsPath = names.has(metricsName) ? insideRoot(root, metricsName) : undefined;
    if (metricsPath) {
      const text = await readBounded(metricsPath, MAX_METRICS);
      try {
        const v = text === undefined ? undefined : (JSON.parse(text) as unknown);
        if (v && typeof v === 'object' && !Array.isArray(v)) files.metrics = v as Record<string, unknown>;
      } catch {
        // an unreadable metrics file adds no numbers
      }
    }
    const logName = `${dir}/log.txt`;
    const logPath = x.status !== 'succeeded' && names.has(logName) ? insideRoot(root, logName) : undefined;
    if (logPath) {
      const tail = await readBounded(logPath, LOG_TAIL_BYTES, true);
      if (tail !== undefined) files.logTail = tail;
    }
    const serialName = `${dir}/serial.txt`;
    const serialPath =
      x.status !== 'succeeded' && names.has(serialName) ? insideRoot(root, serialName) : undefined;
    if (serialPath) {
      const tail = await readBounded(serialPath, LOG_TAIL_BYTES, true);
      if (tail !== undefined) files.serialTail = tail;
    }
    out.set(x.id, files);
  });
  return out;
}
