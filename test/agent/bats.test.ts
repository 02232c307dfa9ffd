import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The VM agent's shell tests (bats, commands stubbed on PATH), run under node's test runner so that one
 * command runs every test; each bats test becomes a subtest here with its TAP result.
 */
describe('VM agent (bats)', () => {
  it('passes its bats suite', async (t) => {
    const bats = path.join(root, 'node_modules/bats/bin/bats');
    const child = spawn(bats, ['--tap', path.join(root, 'test/agent')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const results = [...out.matchAll(/^(ok|not ok) \d+ (.*)$/gm)];
    for (const [, verdict, name] of results) {
      await t.test(name ?? '', () => assert.equal(verdict, 'ok', out));
    }
    assert.ok(results.length > 0, `bats ran no test:\n${out}`);
    assert.equal(code, 0, out);
  });
});
