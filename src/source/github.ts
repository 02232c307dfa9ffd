/**
 * The repository side of the source snapshot: which commit a ref names, and that commit's tarball, fetched
 * through GitHub's REST API with the job's token (`contents: read`). Nothing of the repository is executed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { ConfigurationError } from '../errors.ts';
import { FULL_SHA } from './snapshot.ts';
import type { BuiltArchive } from './stage.ts';

/** Where and as whom to ask GitHub. */
export interface GitHubSource {
  /** `GITHUB_API_URL` (https://api.github.com on github.com). */
  readonly apiUrl: string;
  readonly token: string;
  /** `owner/repo` */
  readonly repository: string;
}

function headers(src: GitHubSource): Record<string, string> {
  return {
    accept: 'application/vnd.github+json',
    authorization: `Bearer ${src.token}`,
    'x-github-api-version': '2022-11-28',
    'user-agent': 'gce-matrix',
  };
}

async function messageOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || res.statusText;
}

/** The error a token without `contents: read` (or without access at all) gets, with the fix. */
function accessError(src: GitHubSource, what: string, status: number, message: string): Error {
  if (status === 401) {
    return new ConfigurationError(
      `GitHub refused the token (401 ${message}) while reading ${what}; pass github-token: \${{ github.token }}`,
    );
  }
  if (status === 403) {
    return new ConfigurationError(
      `the job's token cannot read ${what} in ${src.repository} (403 ${message}): give the job \`permissions: contents: read\` ` +
        '(and id-token: write for the cloud), or set source: none',
    );
  }
  return new Error(`GitHub answered ${status} ${message} while reading ${what} in ${src.repository}`);
}

/**
 * The full SHA of a commit, branch, tag or SHA of the repository. `input` names the setting it came from, for
 * the error when the ref does not exist.
 */
export async function resolveCommit(src: GitHubSource, ref: string, input: string): Promise<string> {
  const url = `${src.apiUrl.replace(/\/+$/, '')}/repos/${src.repository}/commits/${encodeURIComponent(ref).replace(/%2F/g, '/')}`;
  const res = await fetch(url, { headers: headers(src) });
  if (res.ok) {
    const sha = ((await res.json()) as { sha?: unknown }).sha;
    if (typeof sha === 'string' && FULL_SHA.test(sha)) return sha;
    throw new Error(`GitHub's answer for commit ${ref} of ${src.repository} has no SHA`);
  }
  const message = await messageOf(res);
  if (res.status === 404 || res.status === 422) {
    throw new ConfigurationError(
      `${input} ${JSON.stringify(ref)} names no commit, branch or tag of ${src.repository} (GitHub: ${message}); give an existing ref or a full SHA`,
    );
  }
  throw accessError(src, `commit ${ref}`, res.status, message);
}

/** Counts and hashes the bytes that pass. */
class Tally extends Transform {
  bytes = 0;
  readonly hash = createHash('sha256');
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    this.push(chunk);
    done();
  }
}

/**
 * Downloads the tarball of `commit` (GitHub's layout: one top-level directory) to `out`, streaming: its SHA-256
 * and size as written, and the size of the tar stream inside (what it takes unpacked).
 */
export async function downloadTarball(src: GitHubSource, commit: string, out: string): Promise<BuiltArchive> {
  if (!FULL_SHA.test(commit)) throw new Error(`downloadTarball needs a full commit SHA, got ${commit}`);
  const url = `${src.apiUrl.replace(/\/+$/, '')}/repos/${src.repository}/tarball/${commit}`;
  const res = await fetch(url, { headers: headers(src), redirect: 'follow' });
  if (!res.ok || !res.body) {
    const message = await messageOf(res);
    if (res.status === 404) {
      throw new ConfigurationError(
        `commit ${commit} of ${src.repository} has no tarball (404 ${message}): the commit is not in the repository, ` +
          `or the token cannot see a private repository (give the job \`permissions: contents: read\`)`,
      );
    }
    throw accessError(src, `the tarball of ${commit}`, res.status, message);
  }
  const archive = new Tally();
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  await pipeline(body, archive, createWriteStream(out));
  return {
    file: out,
    sha256: archive.hash.digest('hex'),
    size: archive.bytes,
    unpackedBytes: await gunzippedBytes(out),
    repository: src.repository,
    commit,
    origin: 'github',
    dirty: false,
    temporary: true,
  };
}

/** The bytes of the tar stream inside a `.tar.gz`; a corrupt archive fails here, before any VM. */
export async function gunzippedBytes(file: string): Promise<number> {
  const inner = new Tally();
  await pipeline(createReadStream(file), createGunzip(), inner, async function* (source) {
    for await (const chunk of source) void chunk;
  });
  return inner.bytes;
}
