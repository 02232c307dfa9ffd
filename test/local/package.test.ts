/**
 * What `npm pack` puts in the package, and that the packed CLI runs on its own: unpacked into a directory with
 * no node_modules anywhere above it, `gce-matrix run` does the README's first example end to end.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the npm package', () => {
  let dir: string;
  let files: string[];
  let unpacked: string;

  before(async () => {
    // The system's temporary directory has no node_modules above it: whatever the CLI needs must be packed.
    dir = await mkdtemp(path.join(tmpdir(), 'gce-matrix-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    files = packed.files.map((f) => f.path);
    await run('tar', ['-xzf', path.join(dir, path.basename(packed.filename)), '-C', dir]);
    unpacked = path.join(dir, 'package');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the bundles, the agent, the action metadata, the docs and examples, and nothing of the tests', async () => {
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    for (const needed of [
      pkg.bin['gce-matrix'],
      'dist/agent/agent.sh',
      'action.yml',
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'examples/quick/matrix.yml',
      'docs/matrix.md',
      'schemas/matrix-spec.schema.json',
      'schemas/status.schema.json',
      'schemas/manifest.schema.json',
    ]) {
      assert.ok(files.includes(needed), `${needed} is packed`);
    }
    for (const action of await readdir(path.join(root, 'actions'))) {
      assert.ok(files.includes(`actions/${action}/action.yml`), `actions/${action}/action.yml is packed`);
    }
    for (const chunk of await readdir(path.join(root, 'dist/chunks'))) {
      assert.ok(files.includes(`dist/chunks/${chunk}`), `dist/chunks/${chunk} is packed`);
    }
    const unwanted = files.filter((f) => /^(test|src|bench|scripts|\.github|\.ci|node_modules)\//.test(f));
    assert.deepEqual(unwanted, []);
  });

  it('runs the README first example from the unpacked package, with no node_modules', async () => {
    const bin = path.join(unpacked, 'dist/cli/index.js');
    const { stdout } = await run(
      process.execPath,
      [bin, 'run', 'examples/quick/matrix.yml', '--source-dir', 'examples', '--no-progress'],
      { cwd: unpacked, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 16 * 1024 * 1024 },
    );
    assert.match(stdout, /Done: 8 experiment\(s\): 8 succeeded, 0 failed, 0 missing\./);
    const help = await run(process.execPath, [bin, 'help'], { cwd: dir });
    assert.match(help.stdout, /gce-matrix run SPEC/);
  });
});
