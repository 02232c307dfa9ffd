/**
 * The pure parts of cutting a release (scripts/release.ts does the I/O): which versions may be released, the
 * CHANGELOG's Unreleased section moved under the version's heading, the release notes read back from it, the
 * version bumped in package.json and package-lock.json, and the GitHub API call that publishes the release.
 */
import { ConfigurationError } from '../src/errors.ts';

/** A release version, MAJOR.MINOR.PATCH. */
export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Where a release goes: its version, its tag, the major tag that follows it, and the release before it. */
export interface ReleasePlan {
  readonly version: string;
  /** `vX.Y.Z`. */
  readonly tag: string;
  /** `vX`: GitHub Actions' convention of a tag that moves to the newest release of a major version. */
  readonly majorTag: string;
  /** The newest `vX.Y.Z` tag before this release, if any. */
  readonly previousTag: string | undefined;
}

const VERSION = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;
const RELEASE_TAG = /^v(\d+\.\d+\.\d+)$/;

/** The version `text` spells as MAJOR.MINOR.PATCH (no leading zeros, no `v`, no pre-release), or undefined. */
export function parseVersion(text: string): Version | undefined {
  const m = VERSION.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

/** Negative when a < b, 0 when equal, positive when a > b, in semantic-version order. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function format(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** The newest of the release tags (`vX.Y.Z`) among `tags`; other tags (the major tags `v0`, `v1`) are ignored. */
export function latestReleaseTag(tags: readonly string[]): string | undefined {
  let best: { tag: string; version: Version } | undefined;
  for (const tag of tags) {
    const version = parseVersion(RELEASE_TAG.exec(tag)?.[1] ?? '');
    if (version && (!best || compareVersions(version, best.version) > 0)) best = { tag, version };
  }
  return best?.tag;
}

/**
 * Checks that `requested` may be released: a MAJOR.MINOR.PATCH version above every release tag and not below
 * package.json's version (which may name the version being prepared, as before the first release).
 */
export function planRelease(requested: string, packageVersion: string, tags: readonly string[]): ReleasePlan {
  const version = parseVersion(requested);
  if (!version) {
    throw new ConfigurationError(
      `VERSION is ${JSON.stringify(requested)}, not a version MAJOR.MINOR.PATCH: give it as e.g. 0.2.0, without a "v" or a pre-release suffix.`,
    );
  }
  const tag = `v${format(version)}`;
  if (tags.includes(tag)) {
    throw new ConfigurationError(
      `VERSION ${format(version)} is released already (tag ${tag} exists): give the next version.`,
    );
  }
  const previousTag = latestReleaseTag(tags);
  const previous = previousTag && parseVersion(previousTag.slice(1));
  if (previous && compareVersions(version, previous) <= 0) {
    throw new ConfigurationError(
      `VERSION ${format(version)} is not above the latest release ${previousTag}: give a greater version.`,
    );
  }
  const pkg = parseVersion(packageVersion);
  if (!pkg) {
    throw new ConfigurationError(
      `package.json's version is ${JSON.stringify(packageVersion)}, not MAJOR.MINOR.PATCH: correct it and commit it first.`,
    );
  }
  if (compareVersions(version, pkg) < 0) {
    throw new ConfigurationError(
      `VERSION ${format(version)} is below package.json's version ${packageVersion}: give ${packageVersion} or a greater version.`,
    );
  }
  return { version: format(version), tag, majorTag: `v${version.major}`, previousTag };
}

const UNRELEASED = /^##[ \t]+\[?unreleased\]?[ \t]*$/i;
const SECTION = /^##[ \t]/;
const SUBSECTION = /^###[ \t]/;
const LINK_DEFINITION = /^\[[^\]]+\]:[ \t]*\S/;

/** The index just past the body of the `##` section whose heading is line `heading`: its next `##` or link block. */
function sectionEnd(lines: readonly string[], heading: number): number {
  let end = heading + 1;
  while (end < lines.length && !SECTION.test(lines[end])) end++;
  // The link definitions Keep a Changelog puts at the end of the file belong to no section.
  if (end === lines.length) {
    let defs = end;
    while (defs > heading + 1 && (LINK_DEFINITION.test(lines[defs - 1]) || lines[defs - 1].trim() === '')) {
      defs--;
    }
    if (lines.slice(defs, end).some((l) => LINK_DEFINITION.test(l))) end = defs;
  }
  return end;
}

/** `lines` without `###` subsections that have nothing under them, and without blank lines at either end. */
function dropEmptySubsections(lines: readonly string[]): string[] {
  const out: string[] = [];
  let pending: string[] | undefined;
  const flush = (): void => {
    if (pending && pending.slice(1).some((l) => l.trim() !== '')) out.push(...pending);
    pending = undefined;
  };
  for (const line of lines) {
    if (SUBSECTION.test(line)) {
      flush();
      pending = [line];
    } else if (pending) {
      pending.push(line);
    } else {
      out.push(line);
    }
  }
  flush();
  while (out.length > 0 && out[0].trim() === '') out.shift();
  while (out.length > 0 && out[out.length - 1].trim() === '') out.pop();
  return out;
}

/** What a release changes in the CHANGELOG. */
export interface ChangelogRelease {
  /** MAJOR.MINOR.PATCH. */
  readonly version: string;
  /** The release date, YYYY-MM-DD. */
  readonly date: string;
  /** Where `[X.Y.Z]` links to (a compare view or the release page); undefined adds no link definition. */
  readonly link?: string;
}

/**
 * The CHANGELOG with its Unreleased section's entries moved under `## [X.Y.Z] - YYYY-MM-DD`, leaving an empty
 * `## Unreleased` above it (and the version's link definition first among those at the end, when given).
 * Refuses a CHANGELOG without an Unreleased section, with nothing in it, or that has the version already.
 */
export function releaseChangelog(text: string, release: ChangelogRelease): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const at = lines.findIndex((l) => UNRELEASED.test(l));
  if (at === -1) {
    throw new ConfigurationError(
      'CHANGELOG.md has no "## Unreleased" section: add one above the releases and list the changes of this release under it.',
    );
  }
  if (sectionHeading(lines, release.version) !== -1) {
    throw new ConfigurationError(
      `CHANGELOG.md has a section for ${release.version} already: give the next version, or remove that section.`,
    );
  }
  const end = sectionEnd(lines, at);
  const entries = dropEmptySubsections(lines.slice(at + 1, end));
  if (entries.length === 0) {
    throw new ConfigurationError(
      `CHANGELOG.md's Unreleased section is empty: list what ${release.version} changes under it (### Added, ### Changed, ### Fixed, ...) before releasing.`,
    );
  }
  const heading = `## [${release.version}] - ${release.date}`;
  const out = [...lines.slice(0, at + 1), '', heading, '', ...entries, ''];
  // What follows starts at the next heading or link definition (or is nothing): the blank lines before it
  // were the Unreleased section's and are replaced by the one above.
  const rest = lines.slice(end);
  while (rest.length > 0 && rest[0].trim() === '') rest.shift();
  if (release.link === undefined) {
    out.push(...rest);
  } else {
    const definition = `[${release.version}]: ${release.link}`;
    const firstDefinition = rest.findIndex((l) => LINK_DEFINITION.test(l));
    const definitionsLast =
      firstDefinition !== -1 && !rest.slice(firstDefinition).some((l) => SECTION.test(l));
    if (definitionsLast) {
      out.push(...rest.slice(0, firstDefinition), definition, ...rest.slice(firstDefinition));
    } else {
      while (rest.length > 0 && rest[rest.length - 1].trim() === '') rest.pop();
      out.push(...rest, ...(rest.length > 0 ? [''] : []), definition, '');
    }
  }
  if (out[out.length - 1] !== '') out.push('');
  return out.join(eol);
}

/** The line of the `##` heading of `version` (`## [X.Y.Z] ...` or `## X.Y.Z ...`), or -1. */
function sectionHeading(lines: readonly string[], version: string): number {
  const escaped = version.replace(/\./g, '\\.');
  const heading = new RegExp(`^##[ \\t]+(\\[${escaped}\\]|${escaped})(?![\\w.-])`);
  return lines.findIndex((l) => heading.test(l));
}

/** The entries of `version`'s section of the CHANGELOG (without its heading), or undefined when it has none. */
export function changelogSection(text: string, version: string): string | undefined {
  const lines = text.split(/\r?\n/);
  const at = sectionHeading(lines, version);
  if (at === -1) return undefined;
  const body = dropEmptySubsections(lines.slice(at + 1, sectionEnd(lines, at)));
  return body.length > 0 ? body.join('\n') : undefined;
}

/** A line that starts a block of its own (a list item, heading, quote, table row, fence, HTML) or is blank. */
const BLOCK_START = /^\s*([-*+][ \t]|\d{1,9}[.)][ \t]|#{1,6}([ \t]|$)|>|\||```|~~~|<[A-Za-z/!]|$)/;
/** A block after which no line continues it: a heading, a table row, HTML. */
const CLOSED_BLOCK = /^\s*(#{1,6}([ \t]|$)|\||<[A-Za-z/!])/;

/**
 * Markdown with hard-wrapped paragraphs and list items joined into one line each: GitHub shows every newline
 * of a release's notes as a line break, where the CHANGELOG wraps its lines for the editor. Fenced and
 * indented code, headings, tables and the start of every list item stay as they are.
 */
export function unwrapMarkdown(text: string): string {
  const out: string[] = [];
  let fence: string | undefined;
  let indentedCode = false;
  let joinable = false;
  let previousBlank = true;
  for (const line of text.split(/\r?\n/)) {
    const blank = line.trim() === '';
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (fence) {
      if (marker === fence) fence = undefined;
    } else if (marker) {
      fence = marker;
    } else if (indentedCode && (blank || /^( {4}|\t)/.test(line))) {
      // still code
    } else if (previousBlank && /^( {4}|\t)/.test(line) && !BLOCK_START.test(line)) {
      indentedCode = true;
    } else if (joinable && !BLOCK_START.test(line)) {
      out[out.length - 1] = `${out[out.length - 1].trimEnd()} ${line.trim()}`;
      previousBlank = false;
      continue;
    } else {
      indentedCode = false;
    }
    out.push(line);
    joinable = !fence && !marker && !indentedCode && !blank && !CLOSED_BLOCK.test(line);
    previousBlank = blank;
  }
  return out.join('\n');
}

/** The release notes of `version`: its CHANGELOG section, unwrapped for GitHub. */
export function releaseNotes(changelog: string, version: string): string {
  const section = changelogSection(changelog, version);
  if (section === undefined) {
    throw new ConfigurationError(
      `CHANGELOG.md has no entries for ${version}: list its changes under its heading.`,
    );
  }
  return unwrapMarkdown(section);
}

/** Where a CHANGELOG's `[X.Y.Z]` links to: the changes since the previous release, or the first release's page. */
export function changelogLink(serverUrl: string, repository: string, plan: ReleasePlan): string {
  const base = `${serverUrl.replace(/\/+$/, '')}/${repository}`;
  return plan.previousTag
    ? `${base}/compare/${plan.previousTag}...${plan.tag}`
    : `${base}/releases/tag/${plan.tag}`;
}

function bumpJson(text: string, file: string, set: (doc: Record<string, unknown>) => void): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigurationError(`${file} is not valid JSON (${(err as Error).message}): correct it first.`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigurationError(`${file} is not a JSON object: correct it first.`);
  }
  set(doc as Record<string, unknown>);
  // npm writes both files as JSON.stringify does, and prettier formats package.json the same way.
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** package.json with its version set to `version`. */
export function bumpPackageJson(text: string, version: string): string {
  return bumpJson(text, 'package.json', (doc) => {
    doc.version = version;
  });
}

/** package-lock.json with the root package's version (top level and `packages[""]`) set to `version`. */
export function bumpPackageLock(text: string, version: string): string {
  return bumpJson(text, 'package-lock.json', (doc) => {
    doc.version = version;
    const packages = doc.packages as Record<string, Record<string, unknown>> | undefined;
    if (packages?.[''] && typeof packages[''] === 'object') packages[''].version = version;
  });
}

/** The REST call that publishes a release of an existing tag. */
export interface ReleaseRequest {
  readonly method: 'POST';
  readonly url: string;
  readonly body: { tag_name: string; name: string; body: string; draft: false; prerelease: false };
}

/** POST /repos/{owner}/{repo}/releases for `plan`'s tag, named after it, with `notes` as its description. */
export function releaseRequest(
  apiUrl: string,
  repository: string,
  plan: ReleasePlan,
  notes: string,
): ReleaseRequest {
  return {
    method: 'POST',
    url: `${apiUrl.replace(/\/+$/, '')}/repos/${repository}/releases`,
    body: { tag_name: plan.tag, name: plan.tag, body: notes, draft: false, prerelease: false },
  };
}

/** The command-line arguments of scripts/release.ts. */
export interface ReleaseArgs {
  readonly version: string;
  readonly dryRun: boolean;
}

/** Parses `VERSION [--dry-run]`. */
export function parseReleaseArgs(argv: readonly string[]): ReleaseArgs {
  const positional = argv.filter((a) => !a.startsWith('-'));
  const unknown = argv.filter((a) => a.startsWith('-') && a !== '--dry-run');
  if (unknown.length > 0 || positional.length !== 1) {
    const why = unknown.length > 0 ? `unknown option ${unknown[0]}` : 'give exactly one VERSION';
    throw new ConfigurationError(`usage: node scripts/release.ts VERSION [--dry-run] (${why}).`);
  }
  return { version: positional[0], dryRun: argv.includes('--dry-run') };
}
