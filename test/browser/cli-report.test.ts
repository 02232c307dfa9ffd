/**
 * The README's first command, checked the way a reader checks it: the bundled CLI runs the quick example, and
 * the report.html it writes is opened in headless Chromium, where its tables and charts must be on screen
 * with the numbers the experiments measured.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CdpConnection } from './cdp.ts';
import type { Browser } from './chromium.ts';
import { evaluate, MISSING, openPage, startChromium, stopChromium } from './chromium.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe(
  'report.html of a local run in headless Chromium',
  { skip: MISSING !== undefined && !process.env.CI ? MISSING : false, timeout: 180_000 },
  () => {
    let work: string | undefined;
    let browser: Browser | undefined;
    let page: CdpConnection | undefined;
    let metrics: { method: string; estimate: number }[] = [];

    before(async () => {
      if (MISSING) throw new Error(MISSING);
      work = await mkdtemp(path.join(tmpdir(), 'gce-matrix-cli-html-'));
      const out = path.join(work, 'run');
      const child = spawn(
        process.execPath,
        [
          path.join(root, 'dist/cli/index.js'),
          'run',
          path.join(root, 'examples/quick/matrix.yml'),
          '--source-dir',
          path.join(root, 'examples'),
          '--set',
          'samples=1000',
          '--out',
          out,
        ],
        { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let log = '';
      child.stdout.on('data', (d: Buffer) => (log += d.toString()));
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      const code = await new Promise((resolve) => child.on('close', resolve));
      assert.equal(code, 0, log);
      const manifest = JSON.parse(await readFile(path.join(out, 'results/manifest.json'), 'utf8')) as {
        experiments: { id: string; params: { method: string } }[];
      };
      for (const e of manifest.experiments) {
        const m = JSON.parse(
          await readFile(path.join(out, 'results', e.id, 'outputs/metrics.json'), 'utf8'),
        ) as {
          estimate: number;
        };
        metrics.push({ method: e.params.method, estimate: m.estimate });
      }
      browser = await startChromium(path.join(work, 'profile'));
      page = await openPage(browser, path.join(out, 'report.html'));
    });

    after(async () => {
      page?.close();
      if (browser) await stopChromium(browser.process);
      if (work) await rm(work, { recursive: true, force: true });
      metrics = [];
    });

    it('shows the pivot tables with the measured means', async () => {
      assert.ok(page);
      const tables = await evaluate<string[]>(
        page,
        `[...document.querySelectorAll('table')].map((t) => t.innerText)`,
      );
      assert.ok(tables.length >= 3, `tables: ${tables.length}`);
      const byMethod = new Map<string, number[]>();
      for (const m of metrics) byMethod.set(m.method, [...(byMethod.get(m.method) ?? []), m.estimate]);
      const pivot = tables.find((t) => /estimate/.test(t) || /stratified/.test(t));
      assert.ok(pivot, tables.join('\n---\n'));
      const text = tables.join('\n');
      for (const [method, values] of byMethod) {
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        assert.ok(text.includes(method), method);
        // the report prints 4 significant digits
        assert.ok(
          text.includes(mean.toPrecision(4).replace(/\.?0+$/, '')),
          `mean of ${method} ${mean} in\n${text}`,
        );
      }
    });

    it('renders a chart with one bar per method, as tall as its value', async () => {
      assert.ok(page);
      const charts = await evaluate<{ width: number; bars: { value: number; height: number }[] }[]>(
        page,
        `[...document.querySelectorAll('svg')].map((svg) => ({
          width: svg.getBoundingClientRect().width,
          bars: [...svg.querySelectorAll('rect[data-value]')].map((r) => ({
            value: Number(r.getAttribute('data-value')),
            height: r.getBoundingClientRect().height,
          })),
        }))`,
      );
      assert.ok(charts.length >= 1, 'at least one chart');
      for (const c of charts) assert.ok(c.width > 100, `a chart laid out on screen (${c.width}px)`);
      const estimate = charts.find(
        (c) => c.bars.length === 2 && c.bars.every((b) => b.value > 3 && b.value < 3.3),
      );
      assert.ok(estimate, JSON.stringify(charts));
      for (const b of estimate.bars) assert.ok(b.height > 10, `bar of ${b.value} is ${b.height}px tall`);
    });
  },
);
