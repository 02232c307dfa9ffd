import { writeCollectedRun } from '../fixtures/collected-run.ts';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import type { ReportSettings } from '../../src/report/inputs.ts';
import { parseReportInputs } from '../../src/report/inputs.ts';
import { readExperimentFiles, readManifest } from '../../src/report/load.ts';
import { reportData } from '../../src/report/model.ts';
import type { ReportIO } from '../../src/report/publish.ts';
import { publishReport } from '../../src/report/publish.ts';
import type { ArtifactUploader } from '../../src/report/report-artifact.ts';
import type { RenderOptions } from '../../src/report/render.ts';
import { renderComment } from '../../src/report/render.ts';
import {
  artifactDownloadUrl,
  htmlArtifactLine,
  isArtifactName,
  reportArtifactLink,
  reportArtifactName,
} from '../../src/report/report-artifact.ts';

const RUN_URL = 'https://github.com/o/r/actions/runs/55';

describe('the report artifact: names and links', () => {
  const names: [string, string, string][] = [
    ['a plain run id', '4242', 'gce-matrix-report-4242'],
    ['characters artifacts refuse', 'a/b:c*d', 'gce-matrix-report-a_b_c_d'],
    ['no run id', '', 'gce-matrix-report-run'],
    ['a very long id', 'x'.repeat(300), `gce-matrix-report-${'x'.repeat(100)}`],
  ];
  for (const [what, runId, expected] of names) {
    it(`names it gce-matrix-report-RUN_ID: ${what}`, () => {
      const name = reportArtifactName(runId);
      assert.equal(name, expected);
      assert.ok(isArtifactName(name));
    });
  }

  const checked: [string, boolean][] = [
    ['gce-matrix-report-7', true],
    ['nightly report.v2', true],
    ['a/b', false],
    ['a:b', false],
    ['a\nb', false],
    ['  ', false],
  ];
  for (const [name, ok] of checked) {
    it(`${ok ? 'accepts' : 'refuses'} the artifact name ${JSON.stringify(name)}`, () => {
      assert.equal(isArtifactName(name), ok);
    });
  }

  it("links the reporting run's artifacts list, and the artifact itself by id", () => {
    assert.deepEqual(reportArtifactLink('gce-matrix-report-9', RUN_URL), {
      name: 'gce-matrix-report-9',
      url: `${RUN_URL}#artifacts`,
    });
    assert.equal(artifactDownloadUrl(RUN_URL, 1234), `${RUN_URL}/artifacts/1234`);
  });

  const lines: [string, string, string][] = [
    [
      'a default name',
      'gce-matrix-report-9',
      `Full report (HTML, with charts and trends): artifact [gce-matrix-report-9](${RUN_URL}#artifacts).`,
    ],
    [
      'a name that would be a link and a mention',
      'r](https://x) @team',
      `Full report (HTML, with charts and trends): artifact [r&#93;&#40;https:\u200b&#47;&#47;x&#41; @\u200dteam](${RUN_URL}#artifacts).`,
    ],
  ];
  for (const [what, name, expected] of lines) {
    it(`writes one markdown line for ${what}`, () => {
      assert.equal(htmlArtifactLine(reportArtifactLink(name, RUN_URL)), expected);
    });
  }
});

describe('the report artifact inputs of actions/report', () => {
  const parse = (given: Record<string, string>, env: NodeJS.ProcessEnv = {}): ReportSettings => {
    const inputs: Record<string, string> = { baseline: 'none', ...given };
    return parseReportInputs((name) => inputs[name] ?? '', env, { name: 'push', payload: {} }, '/w');
  };

  it('uploads by default, into a temporary directory, kept for the repository default', () => {
    const s = parse({});
    assert.equal(s.reportArtifact, true);
    assert.equal(s.reportPath, undefined);
    assert.equal(s.reportArtifactName, undefined);
    assert.equal(s.retentionDays, undefined);
  });

  it('reads each one, the path in the workspace', () => {
    const s = parse({
      'report-path': 'out/report',
      'report-artifact': 'false',
      'report-artifact-name': 'nightly report',
      'retention-days': '7',
    });
    assert.deepEqual(
      [s.reportPath, s.reportArtifact, s.reportArtifactName, s.retentionDays],
      [path.resolve('/w', 'out/report'), false, 'nightly report', 7],
    );
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['report-artifact', { 'report-artifact': 'yes' }, /^input report-artifact must be true or false/],
    ['report-artifact-name', { 'report-artifact-name': 'a/b' }, /^input report-artifact-name "a\/b" holds/],
    ['retention-days', { 'retention-days': '0' }, /^input retention-days must be a whole number from 1/],
  ];
  for (const [input, given, message] of bad) {
    it(`refuses a bad ${input}, naming it`, () => {
      assert.throws(
        () => parse(given),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
});

describe('publishReport writes and uploads the HTML report', () => {
  let dir: string;
  let results: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'report-artifact-'));
    results = path.join(dir, 'results');
    await writeCollectedRun(
      results,
      { bucket: 'b', prefix: 'gce-matrix', runId: '77' },
      ['alpha', 'beta'].flatMap((tool) =>
        [1, 2].map((seed) => ({
          id: `${tool}-${seed}`,
          params: { tool, seed },
          metrics: { cov: tool === 'alpha' ? 50 + seed : 60 + seed },
        })),
      ),
    );
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The settings of a report without baseline or comment, plus `over`. */
  const settings = (over: Partial<ReportSettings> = {}): ReportSettings => ({
    ...parseReportInputs(
      (name) => ({ baseline: 'none', comment: 'false', metrics: 'cov:higher' })[name] ?? '',
      { GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '55' },
      { name: 'push', payload: {} },
      dir,
    ),
    path: results,
    ...over,
  });

  interface Seen {
    readonly io: ReportIO;
    readonly summary: string[];
    readonly warnings: string[];
    readonly outputs: Map<string, string>;
  }
  const recorder = (): Seen => {
    const summary: string[] = [];
    const warnings: string[] = [];
    const outputs = new Map<string, string>();
    return {
      summary,
      warnings,
      outputs,
      io: {
        info: () => undefined,
        warning: (m) => warnings.push(m),
        summary: (md) => {
          summary.push(md);
          return Promise.resolve();
        },
        output: (name, value) => outputs.set(name, value),
      },
    };
  };
  const LINE = `Full report (HTML, with charts and trends): artifact [gce-matrix-report-77](${RUN_URL}#artifacts).`;

  it('uploads report.html and report.md, outputs where, and links the artifact from the summary', async () => {
    const seen = recorder();
    const uploads: { name: string; root: string; files: readonly string[] }[] = [];
    const upload: ArtifactUploader = (name, root, files) => {
      uploads.push({ name, root, files });
      return Promise.resolve(1234);
    };
    const reportPath = path.join(dir, 'kept');
    const published = await publishReport({
      settings: settings({ reportPath }),
      clients: undefined,
      explicitRef: false,
      comment: true,
      upload,
      io: seen.io,
    });
    assert.deepEqual(uploads, [
      {
        name: 'gce-matrix-report-77',
        root: reportPath,
        files: [path.join(reportPath, 'report.html'), path.join(reportPath, 'report.md')],
      },
    ]);
    assert.deepEqual((await readdir(reportPath)).sort(), ['report.html', 'report.md']);
    const html = await readFile(path.join(reportPath, 'report.html'), 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<svg class="chart"/);
    const markdown = await readFile(path.join(reportPath, 'report.md'), 'utf8');
    assert.match(markdown, /4 experiment\(s\), \*\*4 succeeded\*\*/);
    assert.ok(!markdown.includes(LINE), 'the markdown inside the artifact does not point to itself');
    assert.deepEqual(Object.fromEntries(seen.outputs), {
      'report-html': path.join(reportPath, 'report.html'),
      'report-artifact-name': 'gce-matrix-report-77',
      'report-artifact-id': '1234',
      'report-artifact-url': `${RUN_URL}/artifacts/1234`,
      'summary-json': seen.outputs.get('summary-json'),
      regressions: '0',
    });
    assert.equal(seen.summary.length, 1);
    assert.ok(seen.summary[0].includes(`\n\n${LINE}\n`), seen.summary[0].slice(-400));
    assert.deepEqual(published.htmlArtifact, { name: 'gce-matrix-report-77', url: `${RUN_URL}#artifacts` });
    assert.deepEqual(seen.warnings, []);
  });

  it('warns when the upload fails, and reports without the link', async () => {
    const seen = recorder();
    const published = await publishReport({
      settings: settings({ reportArtifactName: 'nightly' }),
      clients: undefined,
      explicitRef: false,
      comment: true,
      upload: (name) => Promise.reject(new Error(`Failed to CreateArtifact ${name}: (401) Unauthorized`)),
      io: seen.io,
    });
    assert.equal(published.htmlArtifact, undefined);
    assert.equal(seen.warnings.length, 1);
    assert.match(
      seen.warnings[0],
      /^Could not upload the HTML report as artifact nightly: Failed to CreateArtifact nightly: \(401\) Unauthorized\. The job summary still has the report\.$/,
    );
    assert.doesNotMatch(seen.summary[0], /Full report \(HTML/);
    assert.equal(seen.outputs.get('report-artifact-name'), undefined);
    const written = seen.outputs.get('report-html') ?? '';
    assert.match(written, /gce-matrix-report-[^/]+\/report\.html$/);
    await rm(path.dirname(written), { recursive: true, force: true });
  });

  it('warns when the files cannot be written, and uploads nothing', async () => {
    const seen = recorder();
    const blocked = path.join(dir, 'a-file');
    await writeFile(blocked, 'not a directory');
    let uploaded = 0;
    const published = await publishReport({
      settings: settings({ reportPath: path.join(blocked, 'report') }),
      clients: undefined,
      explicitRef: false,
      comment: true,
      upload: () => {
        uploaded++;
        return Promise.resolve(1);
      },
      io: seen.io,
    });
    assert.equal(uploaded, 0);
    assert.equal(published.htmlArtifact, undefined);
    assert.equal(seen.warnings.length, 1);
    assert.match(
      seen.warnings[0],
      /^Could not write the HTML report: .*The job summary still has the report\.$/,
    );
    assert.match(seen.summary[0], /4 experiment\(s\)/);
  });

  it('keeps the link line when the comment is cut to its limit, and shows none without an artifact', async () => {
    const manifest = await readManifest(results);
    const data = reportData(manifest, await readExperimentFiles(results, manifest));
    const link = reportArtifactLink('gce-matrix-report-77', RUN_URL);
    const opts: RenderOptions = {
      title: 't',
      directions: new Map(),
      baseline: { kind: 'off' },
      runUrl: RUN_URL,
    };
    const full = renderComment(data, { ...opts, htmlArtifact: link });
    const cut = renderComment(data, { ...opts, htmlArtifact: link }, 600);
    assert.ok(full.length > 600, 'the full comment does not fit');
    assert.match(cut, /The full report is too long for a comment/);
    for (const body of [full, cut]) assert.ok(body.includes(`\n${LINE}\n`), body);
    assert.ok(!renderComment(data, opts).includes('Full report (HTML'));
  });

  const quiet: [string, Partial<ReportSettings>, boolean, boolean][] = [
    // [case, settings, an uploader is given, files are written]
    [
      'report-artifact false with a report-path: written, not uploaded',
      { reportArtifact: false },
      true,
      true,
    ],
    ['no uploader (the CLI, a watcher with upload false) and no report-path', {}, false, false],
    ['report-artifact false and no report-path', { reportArtifact: false }, true, false],
  ];
  for (const [what, over, withUploader, written] of quiet) {
    it(`leaves the artifact out: ${what}`, async () => {
      const seen = recorder();
      const reportPath = path.join(dir, `quiet-${quiet.findIndex((q) => q[0] === what)}`);
      let uploaded = 0;
      const published = await publishReport({
        settings: settings({ ...over, ...(written ? { reportPath } : {}) }),
        clients: undefined,
        explicitRef: false,
        comment: true,
        upload: withUploader
          ? () => {
              uploaded++;
              return Promise.resolve(1);
            }
          : undefined,
        io: seen.io,
      });
      assert.equal(uploaded, 0);
      assert.equal(published.htmlArtifact, undefined);
      assert.doesNotMatch(seen.summary[0], /Full report \(HTML/);
      assert.equal(
        seen.outputs.get('report-html'),
        written ? path.join(reportPath, 'report.html') : undefined,
      );
      if (written)
        assert.match(await readFile(path.join(reportPath, 'report.html'), 'utf8'), /<!doctype html>/);
      assert.deepEqual(seen.warnings, []);
    });
  }
});
