import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  FULL_SHA
} from "./chunk-VRTZOPY4.js";
import {
  ConfigurationError
} from "./chunk-F4TJMFJC.js";

// src/source/github.ts
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
function headers(src) {
  return {
    accept: "application/vnd.github+json",
    authorization: `Bearer ${src.token}`,
    "x-github-api-version": "2022-11-28",
    "user-agent": "gce-matrix"
  };
}
async function messageOf(res) {
  const text = await res.text().catch(() => "");
  try {
    const m = JSON.parse(text).message;
    if (typeof m === "string") return m;
  } catch {
  }
  return text.slice(0, 200) || res.statusText;
}
function accessError(src, what, status, message) {
  if (status === 401) {
    return new ConfigurationError(
      `GitHub refused the token (401 ${message}) while reading ${what}; pass github-token: \${{ github.token }}`
    );
  }
  if (status === 403) {
    return new ConfigurationError(
      `the job's token cannot read ${what} in ${src.repository} (403 ${message}): give the job \`permissions: contents: read\` (and id-token: write for the cloud), or set source: none`
    );
  }
  return new Error(`GitHub answered ${status} ${message} while reading ${what} in ${src.repository}`);
}
async function resolveCommit(src, ref, input) {
  const url = `${src.apiUrl.replace(/\/+$/, "")}/repos/${src.repository}/commits/${encodeURIComponent(ref).replace(/%2F/g, "/")}`;
  const res = await fetch(url, { headers: headers(src) });
  if (res.ok) {
    const sha = (await res.json()).sha;
    if (typeof sha === "string" && FULL_SHA.test(sha)) return sha;
    throw new Error(`GitHub's answer for commit ${ref} of ${src.repository} has no SHA`);
  }
  const message = await messageOf(res);
  if (res.status === 404 || res.status === 422) {
    throw new ConfigurationError(
      `${input} ${JSON.stringify(ref)} names no commit, branch or tag of ${src.repository} (GitHub: ${message}); give an existing ref or a full SHA`
    );
  }
  throw accessError(src, `commit ${ref}`, res.status, message);
}
var Tally = class extends Transform {
  bytes = 0;
  hash = createHash("sha256");
  _transform(chunk, _enc, done) {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    this.push(chunk);
    done();
  }
};
async function downloadTarball(src, commit, out) {
  if (!FULL_SHA.test(commit)) throw new Error(`downloadTarball needs a full commit SHA, got ${commit}`);
  const url = `${src.apiUrl.replace(/\/+$/, "")}/repos/${src.repository}/tarball/${commit}`;
  const res = await fetch(url, { headers: headers(src), redirect: "follow" });
  if (!res.ok || !res.body) {
    const message = await messageOf(res);
    if (res.status === 404) {
      throw new ConfigurationError(
        `commit ${commit} of ${src.repository} has no tarball (404 ${message}): the commit is not in the repository, or the token cannot see a private repository (give the job \`permissions: contents: read\`)`
      );
    }
    throw accessError(src, `the tarball of ${commit}`, res.status, message);
  }
  const archive = new Tally();
  const body = Readable.fromWeb(res.body);
  await pipeline(body, archive, createWriteStream(out));
  return {
    file: out,
    sha256: archive.hash.digest("hex"),
    size: archive.bytes,
    unpackedBytes: await gunzippedBytes(out),
    repository: src.repository,
    commit,
    origin: "github",
    dirty: false,
    temporary: true
  };
}
async function gunzippedBytes(file) {
  const inner = new Tally();
  await pipeline(createReadStream(file), createGunzip(), inner, async function* (source) {
    for await (const chunk of source) void chunk;
  });
  return inner.bytes;
}

export {
  resolveCommit,
  downloadTarball
};
