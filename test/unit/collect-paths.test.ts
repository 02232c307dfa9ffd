import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PathAllocator, decideRelativePath, experimentDir } from '../../src/collect/paths.ts';

describe('decideRelativePath', () => {
  const cases: [string, string, string | undefined][] = [
    // name, kind, path (for ok/renamed)
    ['metrics.json', 'ok', 'metrics.json'],
    ['a/b/c.txt', 'ok', 'a/b/c.txt'],
    ['.hidden', 'ok', '.hidden'],
    ['a..b', 'ok', 'a..b'],
    ['名前.txt', 'ok', '名前.txt'],
    ['../../etc/x', 'refused', undefined],
    ['a/../../x', 'refused', undefined],
    ['..', 'refused', undefined],
    ['./x', 'refused', undefined],
    ['/etc/passwd', 'refused', undefined],
    ['a//b', 'refused', undefined],
    ['win\\..\\x', 'refused', undefined],
    ['a\\b', 'refused', undefined],
    ['', 'refused', undefined],
    ['dir/', 'directory', undefined],
    ['a:b.txt', 'renamed', 'a_b.txt'],
    ['C:/x', 'renamed', 'C_/x'],
    ['q"u<o>t|e*?.txt', 'renamed', 'q_u_o_t_e__.txt'],
    ['line\nbreak.txt', 'renamed', 'line_break.txt'],
    ['cr\r.txt', 'renamed', 'cr_.txt'],
    ['nul\u0000.txt', 'renamed', 'nul_.txt'],
    ['tab\t.txt', 'renamed', 'tab_.txt'],
  ];
  for (const [name, kind, want] of cases) {
    it(`${JSON.stringify(name)} -> ${kind}${want ? ` ${want}` : ''}`, () => {
      const d = decideRelativePath(name);
      assert.equal(d.kind, kind);
      if (d.kind === 'ok' || d.kind === 'renamed') assert.equal(d.path, want);
      if (d.kind === 'refused' || d.kind === 'renamed') assert.ok(d.reason.length > 0);
    });
  }

  it('shortens a segment over 255 bytes, keeping the extension, uniquely', () => {
    const a = decideRelativePath(`d/${'x'.repeat(300)}a.json`);
    const b = decideRelativePath(`d/${'x'.repeat(300)}b.json`);
    assert.equal(a.kind, 'renamed');
    assert.equal(b.kind, 'renamed');
    if (a.kind !== 'renamed' || b.kind !== 'renamed') return;
    const seg = a.path.split('/')[1];
    assert.ok(Buffer.byteLength(seg) <= 255);
    assert.ok(seg.endsWith('.json'));
    assert.notEqual(a.path, b.path);
    assert.match(a.reason, /shortened/);
  });

  it('names the offending characters, control characters escaped', () => {
    const d = decideRelativePath('a\n:b');
    assert.equal(d.kind, 'renamed');
    if (d.kind === 'renamed') assert.match(d.reason, /\\x0a :/);
  });
});

describe('experimentDir', () => {
  it('keeps a valid id and makes anything else safe and unique', () => {
    assert.equal(experimentDir('tool-a.svc_1'), 'tool-a.svc_1');
    for (const id of ['..', '.', '.hidden', 'a:b', 'manifest.json', 'results.csv', 'x\ny', 'a\\b']) {
      const dir = experimentDir(id);
      assert.match(dir, /^[^./\\:\n][^/\\:\n]*~[0-9a-f]{8}$/, `${JSON.stringify(id)} -> ${dir}`);
    }
    assert.notEqual(experimentDir('a:b'), experimentDir('a?b'));
  });
});

describe('PathAllocator', () => {
  it('keeps real names and gives renamed ones a counter before the extension', () => {
    const out = new PathAllocator().allocateAll(['a:b.txt', 'a_b.txt', 'a?b.txt', 'noext:x']);
    assert.deepEqual(
      out.map((d) => (d.kind === 'ok' || d.kind === 'renamed' ? d.path : d.kind)),
      ['a_b~2.txt', 'a_b.txt', 'a_b~3.txt', 'noext_x'],
    );
    assert.equal(out[1].kind, 'ok');
    assert.equal(out[0].kind, 'renamed');
  });

  it('refuses a file whose folder is a file already, and renames a file that is a folder already', () => {
    const out = new PathAllocator().allocateAll(['a', 'a/b', 'c/d', 'c']);
    assert.equal(out[0].kind, 'ok');
    assert.equal(out[1].kind, 'refused');
    assert.equal(out[2].kind, 'ok');
    assert.deepEqual(out[3], { kind: 'renamed', path: 'c~2', reason: 'another file already has the name c' });
  });

  it('never hands out a reserved name', () => {
    const a = new PathAllocator(['manifest.json']);
    assert.equal(a.allocate('manifest.json'), 'manifest~2.json');
    assert.equal(a.allocate('exp-1'), 'exp-1');
    assert.equal(a.allocate('exp-1'), 'exp-1~2');
  });

  it('passes refusals and folder markers through', () => {
    const out = new PathAllocator().allocateAll(['../x', 'dir/', 'ok']);
    assert.deepEqual(
      out.map((d) => d.kind),
      ['refused', 'directory', 'ok'],
    );
  });
});
