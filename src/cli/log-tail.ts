import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import type { RunLocation } from '../layout.ts';
import { experimentObjects } from '../layout.ts';

/** How many lines of a failed experiment's log the terminal shows under its line. */
export const LOG_TAIL_LINES = 10;

/** At most this much of the log's end is read. */
const LOG_TAIL_BYTES = 8192;

/** A longer line is cut here: one minified line must not fill the screen. */
const MAX_LINE = 300;

/**
 * One line of untrusted log text as a terminal may show it: escape sequences (colours, cursor moves, titles,
 * hyperlinks) removed, what a carriage return overwrote dropped, tabs as spaces, every other control character
 * removed, and cut to a bounded width.
 */
export function terminalLine(text: string): string {
  const plain = text
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\u009b[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?/g, '')
    .replace(/\u001b[PX^_][^\u001b]*(?:\u001b\\)?/g, '')
    .replace(/\u001b[\s\S]?/g, '');
  const shown =
    plain
      .split('\r')
      .filter((s) => s !== '')
      .pop() ?? '';
  const clean = shown.replace(/\t/g, '  ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  return clean.length > MAX_LINE ? `${clean.slice(0, MAX_LINE - 1)}…` : clean;
}

/** How the agent marks its own lines in an experiment's log (src/agent/agent.sh, gm_log). */
export const AGENT_LINE_PREFIX = 'gce-matrix-agent: ';

/**
 * The last `count` lines of a log, each through {@link terminalLine}; blank lines at the end are dropped. When
 * the command wrote lines, the agent's lines after them are cut to the first, how the command ended: the
 * rest (uploads, checkpoint sync) would push the command's own last words off the screen. With `partial`,
 * the text starts mid-file and its first line, likely cut, is dropped.
 */
export function lastLines(text: string, count = LOG_TAIL_LINES, partial = false): string[] {
  const lines = text.split('\n').map(terminalLine);
  if (partial) lines.shift();
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  let end = lines.length;
  while (end > 0 && lines[end - 1].startsWith(AGENT_LINE_PREFIX)) end--;
  if (end > 0 && end < lines.length) lines.splice(end + 1);
  return lines.slice(-count);
}

/**
 * The last lines of one attempt's log in a local run's bucket directory, where the agent ships it in chunks
 * (as to Cloud Storage); none when there is no log. Read synchronously, so that they print right under the
 * line of the attempt's end, before any other line.
 */
export function localLogTail(
  bucketDir: string,
  location: RunLocation,
  id: string,
  attempt: number,
  count = LOG_TAIL_LINES,
): string[] {
  const dir = path.join(bucketDir, ...experimentObjects(location, id).logs(attempt).split('/'));
  let chunks: string[];
  try {
    chunks = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const parts: Buffer[] = [];
  let total = 0;
  let partial = false;
  for (let i = chunks.length - 1; i >= 0 && total < LOG_TAIL_BYTES; i--) {
    let fd: number;
    try {
      fd = openSync(path.join(dir, chunks[i]), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      continue;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) continue;
      const length = Math.min(st.size, LOG_TAIL_BYTES - total);
      const buf = Buffer.alloc(length);
      const read = readSync(fd, buf, 0, length, st.size - length);
      parts.unshift(buf.subarray(0, read));
      total += read;
      if (length < st.size || (i > 0 && total >= LOG_TAIL_BYTES)) partial = true;
    } finally {
      closeSync(fd);
    }
  }
  return lastLines(Buffer.concat(parts).toString('utf8'), count, partial);
}
