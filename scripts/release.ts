/**
 * Cuts a release: `node scripts/release.ts VERSION [--dry-run]`, run from the repository's checkout.
 *
 * Checks that the working tree is clean, that dist/ is what the sources build (scripts/build.ts --check) and that
 * VERSION is above every release; moves CHANGELOG.md's Unreleased section under `## [VERSION] - date`, bumps
 * package.json and package-lock.json, commits "Release vVERSION", tags it vVERSION (annotated), moves the major
 * tag (v0, v1, ...) to it, pushes the branch and both tags to origin in one atomic push, and publishes a GitHub
 * release of the tag with the CHANGELOG section as its notes. With --dry-run it prints all of that and changes
 * nothing. The release needs GITHUB_TOKEN (contents: write) and GITHUB_REPOSITORY; GITHUB_API_URL and
 * GITHUB_SERVER_URL default to github.com's.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigurationError, isConfigurationError } from '../src/errors.ts';
import type { ReleasePlan, ReleaseRequest } from './release-lib.ts';
import {
  bumpPackageJson,
  bumpPackageLock,
  changelogLink,
  changelogSection,
  parseReleaseArgs,
  planRelease,
  releaseChangelog,
  releaseNotes,
  releaseRequest,
} from './release-lib.ts';

const run = promisify(execFile);
const REMOTE = 'origin';
const FILES = ['CHANGELOG.md', 'package.json', 'package-lock.json'] as const;

/** Runs git in `cwd`; its trimmed output. Fails with git's own message. */
async function git(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, env: env ?? process.env, maxBuffer: 64 << 20 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`git ${args[0]} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Like `git`, with `input` on standard input. */
function gitWithInput(cwd: string, args: string[], input: string): void {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args[0]} failed: ${(r.stderr || String(r.error)).trim()}`);
}

/** The object a ref names (a tag object for an annotated tag), or undefined when there is no such ref. */
async function refValue(cwd: string, ref: string): Promise<string | undefined> {
  try {
    return (await run('git', ['rev-parse', '--quiet', '--verify', ref], { cwd })).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** OWNER/NAME of a GitHub remote URL (https or ssh), or undefined. */
function repositoryOfRemote(url: string): string | undefined {
  return /^(?:https:\/\/[^/]+\/|git@[^:]+:|ssh:\/\/git@[^/]+\/)([^/]+\/[^/]+?)(?:\.git)?\/?$/.exec(url)?.[1];
}

/** The environment of the push: GITHUB_TOKEN as git's HTTP credential for the server's URLs only, if set. */
function pushEnv(remoteUrl: string, serverUrl: string): NodeJS.ProcessEnv {
  const token = process.env.GITHUB_TOKEN;
  const prefix = `${serverUrl.replace(/\/+$/, '')}/`;
  if (!token || !remoteUrl.startsWith(prefix)) return process.env;
  // Through the environment rather than -c: the credential stays out of the process list and of .git/config.
  const n = Number(process.env.GIT_CONFIG_COUNT ?? 0) || 0;
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    ...process.env,
    GIT_CONFIG_COUNT: String(n + 1),
    [`GIT_CONFIG_KEY_${n}`]: `http.${prefix}.extraheader`,
    [`GIT_CONFIG_VALUE_${n}`]: `AUTHORIZATION: basic ${basic}`,
  };
}

/** Calls the GitHub REST API; the status and the parsed body (undefined when there is none). */
async function github(
  method: string,
  url: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; data: Record<string, unknown> | undefined }> {
  const res = await fetch(url, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${token}`,
      'x-github-api-version': '2022-11-28',
      'user-agent': 'gce-matrix-release',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let data: Record<string, unknown> | undefined;
  try {
    data = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    data = { message: text.slice(0, 200) };
  }
  return { status: res.status, data };
}

/** GitHub's error message with its validation errors, for a refusal. */
function apiError(status: number, data: Record<string, unknown> | undefined): string {
  const errors = Array.isArray(data?.errors) ? ` ${JSON.stringify(data.errors)}` : '';
  return `${status} ${typeof data?.message === 'string' ? data.message : ''}${errors}`.trim();
}

/** Everything the release will do, computed without changing anything. */
interface Prepared {
  root: string;
  branch: string;
  plan: ReleasePlan;
  files: Map<string, string>;
  notes: string;
  tagMessage: string;
  repository: string | undefined;
  request: ReleaseRequest | undefined;
  remoteUrl: string;
  serverUrl: string;
}

async function prepare(version: string): Promise<Prepared> {
  const root = await git(process.cwd(), ['rev-parse', '--show-toplevel']).catch(() => {
    throw new ConfigurationError(
      'the current directory is not in a git repository: run the release from the checkout of gce-matrix.',
    );
  });
  const dirty = await git(root, ['status', '--porcelain=v1', '--untracked-files=normal']);
  if (dirty) {
    const listed = dirty.split('\n').slice(0, 10).join('; ');
    throw new ConfigurationError(
      `the working tree is not clean (${listed}): commit or remove these changes first, so that the release commit holds only the release.`,
    );
  }
  const branch = await git(root, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '');
  if (!branch) {
    throw new ConfigurationError(
      'HEAD is detached: check out the branch to release (the default branch), so that the release commit lands on it.',
    );
  }

  const pkgText = await readFile(path.join(root, 'package.json'), 'utf8');
  const declared = (JSON.parse(pkgText) as { version?: unknown }).version;
  const packageVersion = typeof declared === 'string' ? declared : '';
  const tags = (await git(root, ['tag', '--list', 'v*'])).split('\n').filter(Boolean);
  const plan = planRelease(version, packageVersion, tags);

  // The repository's own check decides whether dist/ is fresh, with the bundler it builds dist/ with.
  const check = spawnSync(process.execPath, ['scripts/build.ts', '--check'], { cwd: root, stdio: 'inherit' });
  if (check.status !== 0) {
    throw new ConfigurationError(
      'scripts/build.ts --check failed (see above): dist/ must be what the sources build; run `npm run build`, commit dist/, then release.',
    );
  }

  const serverUrl = process.env.GITHUB_SERVER_URL || 'https://github.com';
  const remoteUrl = await git(root, ['remote', 'get-url', REMOTE]).catch(() => {
    throw new ConfigurationError(
      `the repository has no remote "${REMOTE}": add the GitHub repository as ${REMOTE} to push the release to.`,
    );
  });
  const repository = process.env.GITHUB_REPOSITORY || repositoryOfRemote(remoteUrl);

  const changelogText = await readFile(path.join(root, 'CHANGELOG.md'), 'utf8').catch(() => {
    throw new ConfigurationError('there is no CHANGELOG.md at the root of the repository: add one.');
  });
  const date = new Date().toISOString().slice(0, 10);
  const link = repository ? changelogLink(serverUrl, repository, plan) : undefined;
  const changelog = releaseChangelog(changelogText, { version: plan.version, date, link });
  const notes = releaseNotes(changelog, plan.version);

  const files = new Map<string, string>([
    ['CHANGELOG.md', changelog],
    ['package.json', bumpPackageJson(pkgText, plan.version)],
  ]);
  const lockPath = path.join(root, 'package-lock.json');
  if (existsSync(lockPath)) {
    files.set('package-lock.json', bumpPackageLock(await readFile(lockPath, 'utf8'), plan.version));
  }
  const apiUrl = process.env.GITHUB_API_URL || 'https://api.github.com';
  return {
    root,
    branch,
    plan,
    files,
    notes,
    tagMessage: `${plan.tag}\n\n${changelogSection(changelog, plan.version) ?? ''}\n`,
    repository,
    request: repository ? releaseRequest(apiUrl, repository, plan, notes) : undefined,
    remoteUrl,
    serverUrl,
  };
}

function pushArgs(p: Prepared): string[] {
  const { tag, majorTag } = p.plan;
  return [
    'push',
    '--atomic',
    REMOTE,
    `HEAD:refs/heads/${p.branch}`,
    `refs/tags/${tag}:refs/tags/${tag}`,
    // The major tag moves, so it is the one ref pushed with force.
    `+refs/tags/${majorTag}:refs/tags/${majorTag}`,
  ];
}

async function printPlan(p: Prepared, dryRun: boolean): Promise<void> {
  const { tag, majorTag, version } = p.plan;
  const majorNow = await refValue(p.root, `refs/tags/${majorTag}^{commit}`);
  const say = dryRun ? 'would' : 'will';
  console.log(`Release ${tag}${dryRun ? ' (dry run: nothing is changed)' : ''}`);
  console.log(`  files:   ${[...p.files.keys()].join(', ')} (version ${version}, CHANGELOG section dated)`);
  console.log(`  commit:  "Release ${tag}" on ${p.branch}`);
  console.log(`  tag:     ${tag} (annotated) at that commit`);
  const major = majorNow
    ? `${say} move to that commit (now at ${majorNow})`
    : `${say} be created at that commit`;
  console.log(`  tag:     ${majorTag} ${major}`);
  console.log(`  push:    git ${pushArgs(p).join(' ')}`);
  if (p.request) {
    console.log(`  api:     ${p.request.method} ${p.request.url}`);
    console.log(`           ${JSON.stringify(p.request.body)}`);
  } else {
    console.log(
      '  api:     POST {GITHUB_API_URL}/repos/{GITHUB_REPOSITORY}/releases (GITHUB_REPOSITORY unset)',
    );
  }
  console.log(`Release notes of ${tag}:`);
  console.log(p.notes);
}

/** Undoes the local commit and tags of a release that did not reach the remote. */
async function rollBack(p: Prepared, head: string, majorBefore: string | undefined): Promise<void> {
  const { tag, majorTag } = p.plan;
  if (await refValue(p.root, `refs/tags/${tag}`)) await git(p.root, ['tag', '-d', tag]);
  if (majorBefore) await git(p.root, ['update-ref', `refs/tags/${majorTag}`, majorBefore]);
  else if (await refValue(p.root, `refs/tags/${majorTag}`)) await git(p.root, ['tag', '-d', majorTag]);
  // The tree was clean before the release, so this drops only the release's own changes.
  await git(p.root, ['reset', '--quiet', '--hard', head]);
}

async function release(p: Prepared): Promise<void> {
  const token = process.env.GITHUB_TOKEN;
  if (!token || !p.request) {
    throw new ConfigurationError(
      `${!token ? 'GITHUB_TOKEN' : 'GITHUB_REPOSITORY'} is not set: the release is published through the GitHub API with a token that may write contents (run the release workflow, or set both), or use --dry-run.`,
    );
  }
  const { tag, majorTag } = p.plan;
  const existing = await github('GET', `${p.request.url}/tags/${encodeURIComponent(tag)}`, token);
  if (existing.status === 200) {
    throw new ConfigurationError(
      `GitHub has a release ${tag} already (${String(existing.data?.html_url)}): give the next version.`,
    );
  }
  if (existing.status !== 404) {
    throw new Error(
      `GitHub answered ${apiError(existing.status, existing.data)} when asked for release ${tag}.`,
    );
  }

  const head = await git(p.root, ['rev-parse', 'HEAD']);
  const majorBefore = await refValue(p.root, `refs/tags/${majorTag}`);
  try {
    for (const [file, text] of p.files) await writeFile(path.join(p.root, file), text);
    await git(p.root, ['add', '--', ...FILES.filter((f) => p.files.has(f))]);
    await git(p.root, ['commit', '--quiet', '-m', `Release ${tag}`]);
    gitWithInput(p.root, ['tag', '--annotate', '--cleanup=whitespace', '--file=-', tag], p.tagMessage);
    gitWithInput(
      p.root,
      ['tag', '--force', '--annotate', '--cleanup=whitespace', '--file=-', majorTag],
      `${majorTag}: ${tag}\n`,
    );
    await git(p.root, pushArgs(p), pushEnv(p.remoteUrl, p.serverUrl));
  } catch (err) {
    await rollBack(p, head, majorBefore);
    throw new Error(`${(err as Error).message}\nNothing was pushed; the local commit and tags are undone.`);
  }
  const commit = await git(p.root, ['rev-parse', 'HEAD']);
  console.log(`Pushed ${p.branch} at ${commit}, ${tag} and ${majorTag}.`);

  const created = await github(p.request.method, p.request.url, token, p.request.body);
  if (created.status !== 201) {
    throw new Error(
      `${tag} is pushed, but GitHub refused the release (${apiError(created.status, created.data)}): publish it from the tag at ${p.serverUrl}/${p.repository}/releases/new?tag=${tag} with the notes printed above.`,
    );
  }
  console.log(`Released ${tag}: ${String(created.data?.html_url)}`);
  console.log(`Pin it as: uses: ${p.repository}/.github/workflows/gce-matrix.yml@${commit} # ${tag}`);
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseReleaseArgs(argv);
  const prepared = await prepare(args.version);
  await printPlan(prepared, args.dryRun);
  if (!args.dryRun) await release(prepared);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main(process.argv.slice(2));
  } catch (err) {
    // A refusal or a failure of git or GitHub says what to do in its message; anything else is a bug.
    const known = isConfigurationError(err) || (err instanceof Error && err.constructor === Error);
    console.error(`release: ${known ? (err as Error).message : String((err as Error).stack ?? err)}`);
    process.exitCode = 1;
  }
}
