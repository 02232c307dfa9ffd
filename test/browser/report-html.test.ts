/**
 * Opens the HTML report in a real headless Chromium (Debian's /usr/bin/chromium) over the DevTools protocol and
 * checks what a reader would see: the tables' texts, charts laid out with bars as tall as their values and error
 * bars over their intervals, heatmaps coloured by value, hostile text shown as text with no script in the page,
 * and a screenshot.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest, ManifestExperiment } from '../../src/collect/manifest.ts';
import { countExperiments } from '../../src/collect/manifest.ts';
import type { Baseline } from '../../src/report/compare.ts';
import { parseDirections } from '../../src/report/compare.ts';
import { renderHtml } from '../../src/report/html.ts';
import type { ExperimentFiles } from '../../src/report/model.ts';
import { reportData } from '../../src/report/model.ts';
import type { CdpConnection } from './cdp.ts';
import type { Browser } from './chromium.ts';
import { MISSING, openPage, startChromium, stopChromium } from './chromium.ts';
import { comparedWith } from '../../src/report/significance.ts';

const HOSTILE_TITLE = 'Nightly <script>window.pwned = 1</script> & co';
const HOSTILE_REASON = 'exit 3: "><img src=x onerror="window.pwned=2"> &amp;';
const HOSTILE_LOG = 'starting\n</pre><script>window.pwned = 3</script>\nFATAL: out of memory';

const TOOLS: Record<string, number> = { evomaster: 60, restler: 45, schemathesis: 52 };
const SERVICES: Record<string, number> = { genome: 0, ocvn: 6, petclinic: 12 };
const FAILED = 'restler-ocvn-2';

function experiment(tool: string, service: string, seed: number): ManifestExperiment {
  const id = `${tool}-${service}-${seed}`;
  const failed = id === FAILED;
  return {
    id,
    dir: id,
    status: failed ? 'failed' : 'succeeded',
    state: failed ? 'failed' : 'succeeded',
    exitCode: failed ? 3 : 0,
    attempts: failed ? 2 : 1,
    ...(failed ? { reason: HOSTILE_REASON } : {}),
    startedAt: '2025-03-01T10:00:00Z',
    endedAt: `2025-03-01T10:${10 + seed * 5}:00Z`,
    params: { tool, service, seed },
    provenance: { zone: 'us-central1-a', machineType: 'e2-standard-4', spot: true },
    planned: true,
    files: [],
    problems: [],
  };
}

/** 3 tools x 3 services x 2 seeds; coverage = tool + service + seed, time_s = 200 - tool + 2 service + seed. */
function run(): { manifest: Manifest; files: Map<string, ExperimentFiles> } {
  const experiments: ManifestExperiment[] = [];
  const files = new Map<string, ExperimentFiles>();
  for (const [tool, t] of Object.entries(TOOLS)) {
    for (const [service, s] of Object.entries(SERVICES)) {
      for (const seed of [1, 2]) {
        const x = experiment(tool, service, seed);
        experiments.push(x);
        files.set(
          x.id,
          x.id === FAILED
            ? { logTail: HOSTILE_LOG }
            : { metrics: { coverage: t + s + seed, time_s: 200 - t + 2 * s + seed } },
        );
      }
    }
  }
  const manifest: Manifest = {
    schema: 1,
    runId: 'nightly-42',
    bucket: 'results',
    prefix: 'bench/',
    source: 'gs://results/bench/runs/nightly-42/',
    collectedAt: '2025-03-01T11:00:00Z',
    counts: countExperiments(experiments),
    experiments,
    problems: [],
  };
  return { manifest, files };
}

// Worked out by hand from the formulas above: the median of both seeds with their range, one seed for the failed
// experiment.
const PIVOTS: Record<string, string[][]> = {
  coverage: [
    ['evomaster', '61.5 (61–62, n=2)', '67.5 (67–68, n=2)', '73.5 (73–74, n=2)'],
    ['restler', '46.5 (46–47, n=2)', '52 (n=1)', '58.5 (58–59, n=2)'],
    ['schemathesis', '53.5 (53–54, n=2)', '59.5 (59–60, n=2)', '65.5 (65–66, n=2)'],
  ],
  time_s: [
    ['evomaster', '141.5 (141–142, n=2)', '153.5 (153–154, n=2)', '165.5 (165–166, n=2)'],
    ['restler', '156.5 (156–157, n=2)', '168 (n=1)', '180.5 (180–181, n=2)'],
    ['schemathesis', '149.5 (149–150, n=2)', '161.5 (161–162, n=2)', '173.5 (173–174, n=2)'],
  ],
};
/** A chart's bar: a cell of the pivot, its median and, for more than one seed, the range as its interval. */
interface WantBar {
  label: string;
  value: number;
  low: number | null;
  high: number | null;
}
/** The charts' bars from the pivots above: a group per tool, a bar per service, in the pivot's order. */
function barsOf(metric: string): WantBar[] {
  const services = Object.keys(SERVICES);
  return PIVOTS[metric].flatMap(([tool, ...cells]) =>
    cells.map((cell, j) => {
      const m = /^(-?[\d.]+) (?:\((-?[\d.]+)–(-?[\d.]+), n=\d+\)|\(n=1\))$/.exec(cell);
      assert.ok(m, cell);
      return {
        label: `${tool}/${services[j]}`,
        value: Number(m[1]),
        low: m[2] === undefined ? null : Number(m[2]),
        high: m[3] === undefined ? null : Number(m[3]),
      };
    }),
  );
}

describe(
  'the HTML report in headless Chromium',
  { skip: MISSING !== undefined && !process.env.CI ? MISSING : false, timeout: 30_000 },
  () => {
    let work: string | undefined;
    let browser: Browser | undefined;
    let page: CdpConnection | undefined;
    // A test runner that dies between before and after must not leave a browser behind.
    const killOnExit = (): void => {
      if (browser?.process.pid) {
        try {
          process.kill(-browser.process.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };

    async function evaluate<T>(expression: string): Promise<T> {
      assert.ok(page, 'the page is open');
      const r = await page.send<{
        result: { value?: unknown };
        exceptionDetails?: { text: string; exception?: { description?: string } };
      }>('Runtime.evaluate', { expression, returnByValue: true });
      if (r.exceptionDetails) {
        throw new Error(
          `in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`,
        );
      }
      return r.result.value as T;
    }

    before(async () => {
      if (MISSING) throw new Error(MISSING);
      work = await mkdtemp(path.join(tmpdir(), 'gce-matrix-html-'));
      const { manifest, files } = run();
      const data = reportData(manifest, files);
      const directions = parseDirections('coverage:higher, time_s:lower');
      const baseline: Baseline = {
        schema: 1,
        ref: 'main',
        sha: 'c0ffee0123456789',
        runId: 'nightly-41',
        recordedAt: '2025-02-28T11:00:00Z',
        experiments: { 'evomaster-petclinic-1': { metrics: { coverage: 90, time_s: 170 } } },
      };
      const html = renderHtml(data, {
        title: HOSTILE_TITLE,
        directions,
        baseline: {
          kind: 'compared',
          ref: 'main',
          which: 'merge-base',
          baseline,
          ...comparedWith(data, baseline, directions, { thresholdPercent: 5 }),
          thresholdPercent: 5,
        },
      });
      const file = path.join(work, 'report.html');
      await writeFile(file, html);

      process.on('exit', killOnExit);
      browser = await startChromium(path.join(work, 'profile'));
      page = await openPage(browser, file);
    });

    after(async () => {
      page?.close();
      if (browser) await stopChromium(browser.process);
      process.off('exit', killOnExit);
      if (work) await rm(work, { recursive: true, force: true, maxRetries: 3 });
    });

    it('renders one pivot table per metric with the expected headers and cells', async () => {
      const tables = await evaluate<{ metric: string; head: string[][]; body: string[][] }[]>(`
        [...document.querySelectorAll('table.pivot')].map((t) => ({
          metric: t.dataset.metric,
          head: [...t.tHead.rows].map((r) => [...r.cells].map((c) => c.innerText.trim())),
          body: [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.innerText.trim())),
        }))`);
      assert.deepEqual(
        tables.map((t) => t.metric),
        ['coverage', 'time_s'],
      );
      for (const t of tables) {
        assert.deepEqual(
          t.head,
          [
            ['', 'service'],
            ['tool', 'genome', 'ocvn', 'petclinic'],
          ],
          t.metric,
        );
        assert.deepEqual(t.body, PIVOTS[t.metric], t.metric);
      }
    });

    it('lists every experiment and marks the failed one', async () => {
      const results = await evaluate<{
        rows: number;
        failed: string[][];
        header: string[];
        align: string;
      }>(`(() => {
        const t = document.querySelector('table.results');
        return {
          rows: t.tBodies[0].rows.length,
          failed: [...t.querySelectorAll('tbody tr.failed')].map((r) => [...r.cells].map((c) => c.innerText.trim())),
          header: [...t.tHead.rows[0].cells].map((c) => c.innerText.trim()),
          align: getComputedStyle(t.querySelector('tbody td.num')).textAlign,
        };
      })()`);
      assert.equal(results.rows, 18);
      assert.deepEqual(results.header, [
        'experiment',
        'tool',
        'service',
        'seed',
        'status',
        'attempts',
        'duration',
        'zone',
        'cost',
        'coverage',
        'time_s',
      ]);
      assert.equal(results.failed.length, 1);
      assert.deepEqual(results.failed[0].slice(0, 6), [FAILED, 'restler', 'ocvn', '2', 'failed', '2']);
      assert.equal(results.align, 'right', 'numbers are right-aligned');
    });

    it('shows the change against the baseline, and that one baseline seed is too few to call it', async () => {
      const cells = (selector: string) =>
        evaluate<string[][]>(`
        [...document.querySelectorAll('${selector} tbody tr')].map((r) =>
          [...r.cells].map((c) => c.textContent.trim()))`);
      const changes = await cells('table.deltas.changes');
      assert.deepEqual(
        changes.find((r) => r[0] === 'evomaster-petclinic-1' && r[1] === 'coverage'),
        ['evomaster-petclinic-1', 'coverage', '90', '73', '-17 (-18.9%)', 'higher is better', 'worse'],
      );
      const significance = await cells('table.significance');
      assert.deepEqual(
        significance.find((r) => r[0] === 'service=petclinic, tool=evomaster' && r[1] === 'coverage'),
        [
          'service=petclinic, tool=evomaster',
          'coverage',
          '90 (n=1)',
          '73.5 (73–74, n=2)',
          '-18.33% [-18.89, -17.78]',
          '—',
          'too few repetitions (needs 4 per side)',
        ],
      );
    });

    it('draws every chart with bars as tall as their values and error bars over their intervals', async () => {
      const charts = await evaluate<
        {
          metric: string;
          width: number;
          height: number;
          legend: string[];
          bars: (WantBar & {
            height: number;
            bottom: number;
            middle: number;
            fill: string;
            series: string;
          })[];
          errors: { low: number; high: number; top: number; bottom: number; x: number }[];
        }[]
      >(`
        [...document.querySelectorAll('svg.chart')].map((svg) => {
          const box = svg.getBoundingClientRect();
          const number = (v) => (v === undefined ? null : Number(v));
          return {
            metric: svg.dataset.metric,
            width: box.width,
            height: box.height,
            legend: [...svg.querySelectorAll('.legend-item')].map((g) => g.dataset.series),
            bars: [...svg.querySelectorAll('rect.bar')].map((r) => {
              const b = r.getBoundingClientRect();
              return {
                label: r.closest('g.group').dataset.label + '/' + r.dataset.series,
                series: r.dataset.series,
                value: Number(r.dataset.value),
                low: number(r.dataset.low),
                high: number(r.dataset.high),
                height: b.height,
                bottom: b.bottom,
                middle: b.left + b.width / 2,
                fill: getComputedStyle(r).fill,
              };
            }),
            errors: [...svg.querySelectorAll('line.error-bar')].map((l) => {
              const b = l.getBoundingClientRect();
              return {
                low: Number(l.dataset.low),
                high: Number(l.dataset.high),
                top: b.top,
                bottom: b.bottom,
                x: b.left + b.width / 2,
              };
            }),
          };
        })`);
      assert.deepEqual(
        charts.map((c) => c.metric),
        ['coverage', 'time_s'],
      );
      for (const c of charts) {
        assert.ok(c.width > 200 && c.height > 150, `${c.metric}: laid out at ${c.width} x ${c.height}`);
        const want = barsOf(c.metric);
        assert.deepEqual(
          c.bars.map(({ label, value, low, high }) => ({ label, value, low, high })),
          want,
        );
        assert.deepEqual(c.legend, Object.keys(SERVICES), `${c.metric}: a legend of the services`);
        const pixelsPerUnit = c.bars.map((b) => b.height / b.value);
        for (const p of pixelsPerUnit) {
          assert.ok(
            p > 0 && Math.abs(p / pixelsPerUnit[0] - 1) < 0.01,
            `${c.metric}: heights per unit ${pixelsPerUnit.join(', ')}`,
          );
        }
        // Every bar stands on the zero line; one colour per service, the same in every group.
        const zero = c.bars[0].bottom;
        for (const b of c.bars) assert.ok(Math.abs(b.bottom - zero) < 0.5, `${c.metric} ${b.label} on zero`);
        const fills = new Map<string, Set<string>>();
        for (const b of c.bars) fills.set(b.series, (fills.get(b.series) ?? new Set()).add(b.fill));
        assert.ok(
          [...fills.values()].every((f) => f.size === 1),
          `${c.metric}: one colour per service`,
        );
        assert.equal(new Set([...fills.values()].map((f) => [...f][0])).size, fills.size, 'colours differ');
        // An error bar per interval, on its bar, from low to high on the bars' own scale.
        const withInterval = c.bars.filter((b) => b.low !== null && b.high !== null);
        assert.equal(c.errors.length, withInterval.length, `${c.metric}: error bars`);
        assert.ok(withInterval.length < c.bars.length, 'the single value has none');
        const ppu = pixelsPerUnit[0];
        for (const [i, e] of c.errors.entries()) {
          const b = withInterval[i];
          assert.deepEqual([e.low, e.high], [b.low, b.high], b.label);
          assert.ok(Math.abs(e.x - b.middle) < 0.5, `${c.metric} ${b.label}: error bar on its bar`);
          assert.ok(
            Math.abs(e.top - (zero - b.high! * ppu)) < 0.5,
            `${c.metric} ${b.label}: top at ${e.top}`,
          );
          assert.ok(Math.abs(e.bottom - (zero - b.low! * ppu)) < 0.5, `${c.metric} ${b.label}: bottom`);
          assert.ok(e.bottom - e.top > 1, `${c.metric} ${b.label}: visible (${e.bottom - e.top}px)`);
        }
        const tallest = c.bars.reduce((a, b) => (b.height > a.height ? b : a));
        const largest = want.reduce((a, b) => (b.value > a.value ? b : a));
        assert.equal(tallest.label, largest.label, `${c.metric}: the tallest bar is the largest value`);
      }
    });

    it('shows a heatmap of each pivot: its centres printed, coloured from worse to better', async () => {
      const maps = await evaluate<
        {
          metric: string;
          height: number;
          rows: string[][];
          cells: { value: number; text: string; colour: string }[];
        }[]
      >(`
        [...document.querySelectorAll('table.heatmap')].map((t) => ({
          metric: t.dataset.metric,
          height: t.getBoundingClientRect().height,
          rows: [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.innerText.trim())),
          cells: [...t.querySelectorAll('td.heat')].map((c) => ({
            value: Number(c.dataset.value),
            text: c.innerText.trim(),
            colour: getComputedStyle(c).backgroundColor,
          })),
        }))`);
      assert.deepEqual(
        maps.map((m) => m.metric),
        ['coverage', 'time_s'],
      );
      // Blue is better and orange worse: coverage is better higher, time_s lower.
      const BLUE = 'rgb(84, 142, 214)';
      const ORANGE = 'rgb(232, 136, 76)';
      for (const m of maps) {
        assert.ok(m.height > 50, `${m.metric}: laid out`);
        assert.deepEqual(
          m.rows,
          PIVOTS[m.metric].map(([tool, ...cells]) => [tool, ...cells.map((cell) => cell.split(' ')[0])]),
        );
        const min = m.cells.reduce((a, b) => (b.value < a.value ? b : a));
        const max = m.cells.reduce((a, b) => (b.value > a.value ? b : a));
        assert.notEqual(min.colour, max.colour);
        assert.deepEqual(
          [min.colour, max.colour],
          m.metric === 'coverage' ? [ORANGE, BLUE] : [BLUE, ORANGE],
          `${m.metric}: ${min.text} and ${max.text}`,
        );
      }
    });

    it('shows hostile text as text and runs no script', async () => {
      const seen = await evaluate<{
        scripts: number;
        images: number;
        resources: number;
        pwned: unknown;
        title: string;
        heading: string;
        reason: string;
        log: string;
      }>(`({
        scripts: document.querySelectorAll('script').length,
        images: document.querySelectorAll('img, [src], [href]').length,
        resources: performance.getEntriesByType('resource').length,
        pwned: window.pwned,
        title: document.title,
        heading: document.querySelector('h1').innerText,
        reason: document.querySelector('.failure .reason').innerText,
        log: document.querySelector('.failure pre').innerText,
      })`);
      assert.equal(seen.scripts, 0);
      assert.equal(seen.images, 0);
      assert.equal(seen.resources, 0, 'nothing was loaded');
      assert.equal(seen.pwned, undefined);
      assert.equal(seen.heading, HOSTILE_TITLE);
      assert.ok(seen.title.startsWith(HOSTILE_TITLE), seen.title);
      assert.equal(seen.reason, HOSTILE_REASON);
      assert.equal(seen.log, HOSTILE_LOG);
    });

    it('captures a screenshot of the rendered page', async () => {
      assert.ok(page);
      const shot = await page.send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
      const png = Buffer.from(shot.data, 'base64');
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
      assert.equal(png.readUInt32BE(16), 1280, 'width');
      assert.equal(png.readUInt32BE(20), 900, 'height');
      // A blank page of that size compresses to a few kilobytes; text, tiles and tables take far more.
      assert.ok(png.length > 30_000 && png.length < 10_000_000, `${png.length} bytes`);
    });
  },
);
