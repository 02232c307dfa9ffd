import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import {
  END_MARKER,
  codeCell,
  formatMarkdown,
  inputsTable,
  outputsTable,
  parseActionMetadata,
  renderDoc,
  replaceRegion,
  startMarker,
  tableCell,
  updateDocs,
} from '../../scripts/action-docs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('action docs: tables from action.yml', () => {
  const tables: { name: string; yml: string; inputs: string; outputs: string }[] = [
    {
      name: 'required, defaults of every YAML type, and none',
      yml: [
        'inputs:',
        '  bucket:',
        '    description: The bucket.',
        '    required: true',
        '  token:',
        '    description: A token.',
        '    default: ${{ github.token }}',
        '  count:',
        '    description: How many.',
        '    default: 16',
        '  dry-run:',
        '    description: Only say.',
        '    default: false',
        '  empty:',
        '    description: Nothing by default.',
        "    default: ''",
        'outputs:',
        '  found:',
        '    description: VMs found.',
      ].join('\n'),
      inputs: [
        '| input | required | default | description |',
        '| --- | --- | --- | --- |',
        '| `bucket` | yes |  | The bucket. |',
        '| `token` | no | `${{ github.token }}` | A token. |',
        '| `count` | no | `16` | How many. |',
        '| `dry-run` | no | `false` | Only say. |',
        '| `empty` | no |  | Nothing by default. |',
        '',
      ].join('\n'),
      outputs: ['| output | description |', '| --- | --- |', '| `found` | VMs found. |', ''].join('\n'),
    },
    {
      name: 'pipes escaped in descriptions and defaults; markdown kept',
      yml: [
        'inputs:',
        '  sep:',
        "    description: 'One of `a|b` or **c** | d.'",
        "    default: 'x|y'",
        'outputs:',
        '  pair:',
        "    description: 'left|right'",
      ].join('\n'),
      inputs: [
        '| input | required | default | description |',
        '| --- | --- | --- | --- |',
        '| `sep` | no | `x\\|y` | One of `a\\|b` or **c** \\| d. |',
        '',
      ].join('\n'),
      outputs: ['| output | description |', '| --- | --- |', '| `pair` | left\\|right |', ''].join('\n'),
    },
    {
      name: 'multi-line descriptions: folded, literal with paragraphs; a default with backticks',
      yml: [
        'inputs:',
        '  folded:',
        '    description: >-',
        '      first line',
        '      second line',
        '  literal:',
        '    description: |',
        '      one',
        '      two',
        '',
        '      next paragraph',
        '    default: a `b` c',
        'outputs: {}',
      ].join('\n'),
      inputs: [
        '| input | required | default | description |',
        '| --- | --- | --- | --- |',
        '| `folded` | no |  | first line second line |',
        '| `literal` | no | ``a `b` c`` | one two<br><br>next paragraph |',
        '',
      ].join('\n'),
      outputs: 'This action has no outputs.\n',
    },
    {
      name: 'no inputs at all',
      yml: ['outputs:', '  x:', '    description: An x.'].join('\n'),
      inputs: 'This action has no inputs.\n',
      outputs: ['| output | description |', '| --- | --- |', '| `x` | An x. |', ''].join('\n'),
    },
  ];
  for (const t of tables) {
    it(t.name, () => {
      const meta = parseActionMetadata(t.yml, 'action.yml');
      assert.equal(inputsTable(meta), t.inputs);
      assert.equal(outputsTable(meta), t.outputs);
    });
  }

  const cells: [string, string, string][] = [
    ['a plain sentence stays', 'Plain text.', 'Plain text.'],
    ['every pipe is escaped', 'a|b||c', 'a\\|b\\|\\|c'],
    ['line breaks inside a paragraph become spaces', 'one\n  two\nthree', 'one two three'],
    ['paragraphs are kept apart', 'one\n\n\ntwo', 'one<br><br>two'],
  ];
  for (const [name, text, want] of cells) {
    it(`tableCell: ${name}`, () => assert.equal(tableCell(text), want));
  }

  const codes: [string, string][] = [
    ['gce-matrix', '`gce-matrix`'],
    ['a `b` c', '``a `b` c``'],
    ['`edge', '`` `edge ``'],
    ['a|b', '`a\\|b`'],
  ];
  for (const [text, want] of codes) {
    it(`codeCell(${JSON.stringify(text)})`, () => assert.equal(codeCell(text), want));
  }

  const refused: [string, string, RegExp][] = [
    ['an input without a description', 'inputs:\n  a:\n    required: true\n', /input a has no description/],
    ['an output with an empty one', "outputs:\n  b:\n    description: ''\n", /output b has no description/],
    ['inputs that are a list', 'inputs: [a, b]\n', /inputs must be a mapping/],
  ];
  for (const [name, yml, error] of refused) {
    it(`refuses ${name}`, () => assert.throws(() => parseActionMetadata(yml, 'action.yml'), error));
  }
});

describe('action docs: regions of a document', () => {
  const doc = (inner: string): string =>
    ['# x', '', startMarker('inputs'), inner, END_MARKER, '', 'after', ''].join('\n');

  it('replaces what is between the markers and keeps the rest', () => {
    assert.equal(
      replaceRegion(doc('old\ntable'), 'inputs', 'new\n', 'README.md'),
      ['# x', '', startMarker('inputs'), '', 'new', '', END_MARKER, '', 'after', ''].join('\n'),
    );
  });

  const broken: [string, string, RegExp][] = [
    ['without the region', '# x\n', /README\.md has no <!-- action-docs:inputs --> line/],
    ['with it twice', doc('a') + doc('b'), /has 2 <!-- action-docs:inputs --> lines/],
    ['without its end', `${startMarker('inputs')}\nold\n`, /is not followed by <!-- action-docs:end -->/],
    [
      'with another region before its end',
      `${startMarker('inputs')}\n${startMarker('outputs')}\n${END_MARKER}\n`,
      /is not followed by/,
    ],
  ];
  for (const [name, text, error] of broken) {
    it(`refuses a document ${name}`, () =>
      assert.throws(() => replaceRegion(text, 'inputs', 'x\n', 'README.md'), error));
  }

  it('renders a document that prettier leaves alone, and rendering again changes nothing', async () => {
    const yml = [
      'inputs:',
      '  a-long-input-name:',
      "    description: 'Pipes | and `code|spans`, *emphasis*.'",
      '    required: true',
      '  b:',
      '    description: Short.',
      '    default: x',
      'outputs:',
      '  out:',
      '    description: Out.',
    ].join('\n');
    const start = [
      '# Action',
      '',
      '## Inputs',
      '',
      startMarker('inputs'),
      'stale',
      END_MARKER,
      '',
      '## Outputs',
      '',
      startMarker('outputs'),
      END_MARKER,
      '',
    ].join('\n');
    const labels = { metadata: 'action.yml', doc: 'README.md' };
    const once = await renderDoc(start, yml, labels);
    assert.equal(await formatMarkdown(once), once);
    assert.equal(await renderDoc(once, yml, labels), once);
    assert.doesNotMatch(once, /stale/);
    assert.match(
      once,
      /\| `a-long-input-name` \| yes +\| +\| Pipes \\\| and `code\\\|spans`, _emphasis_\. \|/,
    );
    assert.match(once, /\| `b` +\| no +\| `x` +\| Short\. +\|/);
    assert.match(once, /\| `out` +\| Out\. +\|/);
  });

  it('finds a stale document, rewrites it, and then finds none', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'action-docs-'));
    try {
      await mkdir(path.join(dir, 'docs'));
      await mkdir(path.join(dir, 'actions/one'), { recursive: true });
      const region = `${startMarker('inputs')}\n${END_MARKER}\n\n${startMarker('outputs')}\n${END_MARKER}\n`;
      await writeFile(path.join(dir, 'action.yml'), 'inputs:\n  spec:\n    description: The spec.\n');
      await writeFile(path.join(dir, 'docs/matrix.md'), `# plan\n\n${region}`);
      await writeFile(path.join(dir, 'actions/one/action.yml'), 'outputs:\n  n:\n    description: N.\n');
      await writeFile(path.join(dir, 'actions/one/README.md'), `# one\n\n${region}`);
      assert.deepEqual(await updateDocs(dir), ['docs/matrix.md', 'actions/one/README.md']);
      assert.equal(await readFile(path.join(dir, 'docs/matrix.md'), 'utf8'), `# plan\n\n${region}`);
      assert.deepEqual(await updateDocs(dir, true), ['docs/matrix.md', 'actions/one/README.md']);
      assert.deepEqual(await updateDocs(dir), []);
      assert.match(
        await readFile(path.join(dir, 'docs/matrix.md'), 'utf8'),
        /\| `spec` +\| no +\| +\| The spec\. +\|/,
      );
      assert.match(
        await readFile(path.join(dir, 'actions/one/README.md'), 'utf8'),
        /This action has no inputs\./,
      );
      await rm(path.join(dir, 'actions/one/README.md'));
      await assert.rejects(updateDocs(dir), /actions\/one\/README\.md is missing/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('action docs: the committed documents', () => {
  it('match every action.yml (run `npm run docs` after changing one)', async () => {
    assert.deepEqual(await updateDocs(root), []);
  });
});
