import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseExpected } from '../../src/collect/inputs.ts';
import { parseExperiment } from '../../src/launch/inputs.ts';
import { expandPlan } from '../../src/plan/expand.ts';
import { planOutputs } from '../../src/plan/outputs.ts';
import { parseSpec } from '../../src/plan/spec.ts';
import { parseMetricsText } from '../../src/report/metric-info.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What one action emits, the next one must read: checked on the example spec shipped with the project. */
describe('contracts between the actions', () => {
  const spec = parseSpec([
    { label: 'input spec-file', text: readFileSync(path.join(root, 'examples/matrix.yml'), 'utf8') },
  ]);
  const plan = expandPlan(spec, [], undefined, { maxExperiments: 1000, batchSize: 5, maxBatches: undefined });
  const outputs = planOutputs(plan, '4242');

  it('every matrix entry of the plan is an experiment launch accepts', () => {
    const matrix = JSON.parse(outputs.matrix ?? '') as { include: { experiment: unknown }[] };
    assert.equal(matrix.include.length, Number(outputs.count));
    for (const entry of matrix.include) parseExperiment(JSON.stringify(entry.experiment));
  });

  it('every batch is a matrix of the same experiments, in order', () => {
    const batches = JSON.parse(outputs.batches ?? '') as { include: { experiment: { id: string } }[] }[];
    assert.equal(batches.length, Number(outputs['batch-count']));
    const ids = batches.flatMap((b) => b.include.map((e) => e.experiment.id));
    assert.deepEqual(
      ids,
      plan.experiments.map((e) => e.id),
    );
  });

  it("collect reads the plan's matrix as the list of expected experiments", () => {
    const expected = parseExpected(outputs.matrix ?? '');
    assert.deepEqual(
      expected?.map((e) => e.id),
      plan.experiments.map((e) => e.id),
    );
  });

  it("report and collect read the plan's title and metrics as the spec declares them", () => {
    const rest = parseSpec([
      {
        label: 'input spec-file',
        text: readFileSync(path.join(root, 'examples/rest-testing/matrix.yml'), 'utf8'),
      },
    ]);
    const out = planOutputs(
      expandPlan(rest, [], undefined, { maxExperiments: 1000, batchSize: 256, maxBatches: undefined }),
      '1',
    );
    assert.equal(out.title, rest.title);
    assert.deepEqual(parseMetricsText(out.metrics ?? ''), rest.metrics);
    assert.equal(rest.metrics.get('line_coverage')?.unit, '%');
    assert.equal(outputs.title, '');
    assert.deepEqual(parseMetricsText(outputs.metrics ?? ''), new Map());
  });
});
