/**
 * "Did you mean ...?" for names a user typed: commands, options, axes, axis values, spec keys.
 */

/**
 * The optimal string alignment distance (Damerau-Levenshtein restricted to non-overlapping edits) between `a`
 * and `b`: how many insertions, deletions, substitutions and swaps of two neighbouring characters turn one
 * into the other. Compares code points, case-sensitively.
 *
 * @example editDistance('paralel', 'parallel') // 1
 * @example editDistance('tolo', 'tool') // 1 (a swap of neighbours)
 */
export function editDistance(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  if (s.length === 0) return t.length;
  if (t.length === 0) return s.length;
  // Three rows are enough: a swap looks back two rows.
  let before = new Array<number>(t.length + 1).fill(0);
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  let current = new Array<number>(t.length + 1).fill(0);
  for (let i = 1; i <= s.length; i++) {
    current[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1])
        d = Math.min(d, before[j - 2] + 1);
      current[j] = d;
    }
    [before, previous, current] = [previous, current, before];
  }
  return previous[t.length];
}

/**
 * How far a candidate may be from `name` and still be suggested: a third of the name's length (at least 3
 * counted), so one typo in a short name and more in a long one, never a guess at an unrelated word.
 */
export function suggestionThreshold(name: string): number {
  return Math.floor(Math.max(Array.from(name).length, 3) / 3);
}

/** Options of {@link nearestName}. */
export interface NearestOptions {
  /** The largest distance still suggested (default: {@link suggestionThreshold} of the name). */
  readonly maxDistance?: number;
}

/**
 * The candidate nearest to `name` by {@link editDistance}, ignoring case, within the threshold; undefined when
 * none is near enough (or `name` is empty). On a tie the candidate listed first wins. A candidate equal to
 * `name` is returned as is, so callers check membership first.
 *
 * @example nearestName('tol', ['tool', 'service']) // 'tool'
 * @example nearestName('xyz', ['tool', 'service']) // undefined
 */
export function nearestName(
  name: string,
  candidates: Iterable<string>,
  options: NearestOptions = {},
): string | undefined {
  if (name === '') return undefined;
  const limit = options.maxDistance ?? suggestionThreshold(name);
  const wanted = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(wanted, candidate.toLowerCase());
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * `did you mean X?` for the nearest candidate (see {@link nearestName}), or undefined when none is near.
 * `show` renders the candidate, e.g. with a leading `--` for an option.
 *
 * @example didYouMean('rn', ['run', 'status']) // 'did you mean run?'
 */
export function didYouMean(
  name: string,
  candidates: Iterable<string>,
  show: (candidate: string) => string = (c) => c,
  options: NearestOptions = {},
): string | undefined {
  const near = nearestName(name, candidates, options);
  return near === undefined ? undefined : `did you mean ${show(near)}?`;
}
