/**
 * Benchmark of the source snapshot on the test bed (real launch bundle, real agent, isolated instances), for a
 * repository of about 50 MB:
 *   - uploads of the snapshot per run, with several launches of one run at once (target 1),
 *   - the VM side's download + verify + unpack time beside a plain `tar -xzf` of the same archive, measured
 *     side by side in this run (target ratio <= 1.5).
 * `--quick` uses a smaller repository.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGitFixture } from '../test/bed/git-fixture.ts';
import { startTestBed } from '../test/bed/index.ts';
import { runStep } from '../test/bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const MB = quick ? 10 : 50;
const EXPERIMENTS = 6;
const BUCKET = 'bench-source';

/** Source-like text: compressible as a real repository is, but not trivially. */
function sourceFile(seed: number, bytes: number): string {
  let x = seed * 2654435761 + 1;
  const words = ['const', 'return', 'function', 'value', 'index', 'result', 'error', 'await', 'if', 'for'];
  const out: string[] = [];
  let n = 0;
  while (n < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const line = `  ${words[x % words.length]} v${x % 9973} = f${(x >> 8) % 997}(${(x >> 4) % 10007}); // ${x.toString(36)}\n`;
    out.push(line);
    n += line.length;
  }
  return out.join('');
}

const files: Record<string, string | { content: string; mode: number }> = {
  'bench/run.sh': {
    content:
      '#!/bin/sh\nprintf \'{"files": %s}\\n\' "$(find src -type f | wc -l)" > "$GCE_MATRIX_METRICS_FILE"\n',
    mode: 0o755,
  },
};
const perFile = 256 * 1024;
for (let i = 0; i < (MB * 1024 * 1024) / perFile; i++) files[`src/mod${i}.ts`] = sourceFile(i, perFile);
const repo = await createGitFixture(files);
const bed = await startTestBed();
bed.storage.createBucket(BUCKET);
bed.github.setRepositoryContent(bed.repository, repo.dir);
const sha = await repo.rev('main');

try {
  const launches = await Promise.all(
    Array.from({ length: EXPERIMENTS }, (_, i) =>
      runStep({
        actionDir: path.join(root, 'actions/launch'),
        context: { repository: bed.repository, runId: 'bench-src', sha, token: bed.github.defaultToken },
        env: bed.env,
        inputs: {
          project: bed.project,
          zones: 'us-central1-a',
          bucket: BUCKET,
          'vm-service-account': bed.vmServiceAccount,
          experiment: JSON.stringify({ id: `e${i}`, params: {} }),
          command: './bench/run.sh',
          'heartbeat-seconds': '5',
          'log-interval-seconds': '1',
          'source-ref': sha,
        },
      }),
    ),
  );
  const failed = launches.filter((l) => l.conclusion !== 'success');
  if (failed.length > 0)
    throw new Error(`${failed.length} launch(es) failed:\n${failed[0].jobLog.join('\n')}`);
  const uploads = launches.filter((l) => l.jobLog.some((x) => /uploaded by this launch/.test(x))).length;
  const archives = bed.storage
    .listObjects(BUCKET, 'gce-matrix/runs/bench-src/source/')
    .filter((o) => o.name.endsWith('.tar.gz'));
  const archive = bed.storage.getObject(BUCKET, archives[0].name)!;

  // The VM side, one experiment at a time (the snapshot is in place), as a plain tar runs below.
  const timings: number[] = [];
  const parts: string[] = [];
  for (let i = 0; i < 3; i++) {
    const l = await runStep({
      actionDir: path.join(root, 'actions/launch'),
      context: { repository: bed.repository, runId: 'bench-src', sha, token: bed.github.defaultToken },
      env: bed.env,
      inputs: {
        project: bed.project,
        zones: 'us-central1-a',
        bucket: BUCKET,
        'vm-service-account': bed.vmServiceAccount,
        experiment: JSON.stringify({ id: `alone${i}`, params: {} }),
        command: './bench/run.sh',
        'heartbeat-seconds': '5',
        'log-interval-seconds': '1',
        'source-ref': sha,
      },
    });
    const m = /source snapshot timing: download (\d+) ms, verify (\d+) ms, unpack (\d+) ms/.exec(
      l.jobLog.join('\n'),
    );
    if (!m) throw new Error(`the agent printed no timing line:\n${l.jobLog.join('\n')}`);
    timings.push(Number(m[1]) + Number(m[2]) + Number(m[3]));
    parts.push(`${m[1]}+${m[2]}+${m[3]}`);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  // The same archive unpacked by plain tar, side by side, as often as the agent did it.
  const dir = await mkdtemp(path.join(bed.dir, 'plain-'));
  const file = path.join(dir, 'a.tar.gz');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, archive.data);
  const plain: number[] = [];
  for (let i = 0; i < timings.length; i++) {
    const into = await mkdtemp(path.join(dir, 'x-'));
    const t = performance.now();
    execFileSync('tar', ['-xzf', file, '-C', into, '--strip-components=1']);
    plain.push(performance.now() - t);
    await rm(into, { recursive: true, force: true });
  }
  const vm = median(timings);
  const tar = median(plain);
  console.log(
    `source snapshot of a ${MB} MB repository (${(archive.data.length / 1e6).toFixed(1)} MB archive), ${EXPERIMENTS} launches of one run at once`,
  );
  console.log(
    `  uploads per run:                 ${uploads} (target 1; ${archives.length} archive object(s))  ${uploads === 1 ? 'ok' : 'MISSED'}`,
  );
  console.log(
    `  VM download+verify+unpack (ms):  ${vm} (median of ${parts.join(', ')}: download+verify+unpack)`,
  );
  console.log(
    `  plain tar -xzf (ms):             ${tar.toFixed(0)} (median of ${plain.map((p) => p.toFixed(0)).join(', ')})`,
  );
  console.log(
    `  ratio:                           ${(vm / tar).toFixed(2)} (target <= 1.5)  ${vm / tar <= 1.5 ? 'ok' : 'MISSED'}`,
  );
} finally {
  await bed.close();
  await repo.remove();
}
