import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManifestExperiment } from '../../src/collect/manifest.ts';
import { csvField, tidyCsv } from '../../src/report/csv.ts';
import type { ExperimentFiles, MetricInfo } from '../../src/report/model.ts';

function experiment(id: string, over: Partial<ManifestExperiment> = {}): ManifestExperiment {
  return {
    id,
    dir: id,
    status: 'succeeded',
    state: 'succeeded',
    exitCode: 0,
    attempts: 1,
    startedAt: '2025-01-01T00:00:00Z',
    endedAt: '2025-01-01T00:10:00Z',
    provenance: { zone: 'us-central1-a', machineType: 'e2-standard-2', spot: false, repoSha: 'c0ffee1' },
    planned: true,
    files: [],
    problems: [],
    ...over,
  };
}

const missing = (id: string, params: Record<string, unknown>): ManifestExperiment => ({
  id,
  dir: id,
  status: 'missing',
  state: null,
  exitCode: null,
  attempts: null,
  params,
  planned: true,
  files: [],
  problems: [],
});

/** A strict RFC 4180 reader: every record must end in CRLF, quotes only around whole fields. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        assert.ok(q >= 0, 'a quoted field is closed');
        field += text.slice(i, q);
        i = q + 1;
        if (text[i] !== '"') break;
        field += '"';
        i++;
      }
    } else {
      const end = text.slice(i).search(/[,\r\n]/);
      field = end < 0 ? text.slice(i) : text.slice(i, i + end);
      assert.ok(!field.includes('"'), `a quote only in a quoted field: ${field}`);
      i += field.length;
    }
    record.push(field);
    if (text[i] === ',') {
      i++;
    } else {
      assert.equal(text.slice(i, i + 2), '\r\n', 'records end in CRLF');
      i += 2;
      records.push(record);
      record = [];
    }
  }
  return records;
}

const HEAD = [
  'status',
  'attempt',
  'started_at',
  'ended_at',
  'duration_seconds',
  'cost_usd',
  'commit',
  'zone',
  'machine_type',
  'spot',
  'metric',
  'value',
  'unit',
];
const OK_FIXED = [
  'succeeded',
  '1',
  '2025-01-01T00:00:00Z',
  '2025-01-01T00:10:00Z',
  '600',
  '0.0112',
  'c0ffee1',
  'us-central1-a',
  'e2-standard-2',
  'false',
];
const MISSING_FIXED = ['missing', '', '', '', '', '', '', '', '', ''];

describe('csvField', () => {
  const cases: [string, Parameters<typeof csvField>[0], string][] = [
    ['plain text', 'tool-a', 'tool-a'],
    ['empty', '', ''],
    ['unknown', undefined, ''],
    ['a comma', 'a,b', '"a,b"'],
    ['quotes, doubled', 'say "hi"', '"say ""hi"""'],
    ['a newline', 'two\nlines', '"two\nlines"'],
    ['a leading space', ' x', '" x"'],
    ['a trailing space', 'x ', '"x "'],
    ['a formula', '=SUM(A1:A9)', "'=SUM(A1:A9)"],
    ['a formula with a comma', '=HYPERLINK("u","x")', '"\'=HYPERLINK(""u"",""x"")"'],
    ['a plus', '+cmd|x', "'+cmd|x"],
    ['a minus', '-x', "'-x"],
    ['an at', '@SUM(1)', "'@SUM(1)"],
    ['a leading tab', '\tx', "'\tx"],
    ['a leading CR', '\r=x', '"\'\r=x"'],
    ['a negative number as text', '-2.5', '-2.5'],
    ['a signed exponent as text', '+1e-3', '+1e-3'],
    ['a number', 0.1, '0.1'],
    ['a negative number', -2.5, '-2.5'],
    ['a tiny number', 1e-7, '1e-7'],
    ['a huge number', 1e21, '1e+21'],
    ['full precision', 0.1 + 0.2, '0.30000000000000004'],
    ['no thousands separator', 1234567.5, '1234567.5'],
    ['not a number', Number.NaN, ''],
    ['a boolean', true, 'true'],
  ];
  for (const [name, value, want] of cases) {
    it(name, () => assert.equal(csvField(value), want));
  }
});

describe('tidyCsv', () => {
  const cases: {
    name: string;
    experiments: ManifestExperiment[];
    files?: [string, ExperimentFiles][];
    units?: Record<string, MetricInfo>;
    rows: string[][];
  }[] = [
    {
      name: 'one row per metric, in name order, and one empty row for an experiment without metrics',
      experiments: [
        missing('b', { tool: 'b' }),
        experiment('a', { params: { tool: 'a' } }),
        experiment('c', {
          params: { tool: 'c' },
          status: 'failed',
          state: 'failed',
          exitCode: 3,
          attempts: 2,
        }),
      ],
      files: [
        ['a', { metrics: { time: 3.5, coverage: 0.25, note: 'text is dropped', bad: null } }],
        ['c', { metrics: { note: 'no numbers' } }],
      ],
      rows: [
        ['experiment', 'param_tool', ...HEAD],
        ['a', 'a', ...OK_FIXED, 'coverage', '0.25', ''],
        ['a', 'a', ...OK_FIXED, 'time', '3.5', ''],
        ['b', 'b', ...MISSING_FIXED, '', '', ''],
        ['c', 'c', 'failed', '2', ...OK_FIXED.slice(2), '', '', ''],
      ],
    },
    {
      name: 'the union of the parameters, prefixed so none clashes with a fixed column',
      experiments: [
        experiment('x2', { params: { tool: 'b', status: 'odd', seed: 2 } }),
        experiment('x1', { params: { tool: 'a', extra: true } }),
        missing('x3', { tool: 'c', nested: { k: [1] }, none: null }),
      ],
      rows: [
        [
          'experiment',
          'param_tool',
          'param_extra',
          'param_status',
          'param_nested',
          'param_none',
          'param_seed',
          ...HEAD,
        ],
        ['x1', 'a', 'true', '', '', '', '', ...OK_FIXED, '', '', ''],
        ['x2', 'b', '', 'odd', '', '', '2', ...OK_FIXED, '', '', ''],
        ['x3', 'c', '', '', '{"k":[1]}', '', '', ...MISSING_FIXED, '', '', ''],
      ],
    },
    {
      name: 'parameters from the provenance when the plan gave none; unknown fields stay empty',
      experiments: [
        experiment('p', {
          provenance: { zone: 'z-1', machineType: 'local', parameters: { n: 3 } },
          startedAt: undefined,
        }),
      ],
      files: [['p', { metrics: { m: 1 } }]],
      rows: [
        ['experiment', 'param_n', ...HEAD],
        [
          'p',
          '3',
          'succeeded',
          '1',
          '',
          '2025-01-01T00:10:00Z',
          '',
          '',
          '',
          'z-1',
          'local',
          '',
          'm',
          '1',
          '',
        ],
      ],
    },
    {
      name: 'an unpriced machine type has no cost; spot is priced as spot',
      experiments: [
        experiment('u', { provenance: { machineType: 'z9-weird-4' } }),
        experiment('s', { provenance: { machineType: 'e2-standard-2', spot: true } }),
      ],
      rows: [
        ['experiment', ...HEAD],
        ['s', ...OK_FIXED.slice(0, 5), '0.0039', '', '', 'e2-standard-2', 'true', '', '', ''],
        ['u', ...OK_FIXED.slice(0, 5), '', '', '', 'z9-weird-4', '', '', '', ''],
      ],
    },
    {
      name: 'untrusted text is quoted and kept from running as a formula',
      experiments: [experiment('e-1', { params: { 'to,ol': '=1+1', q: 'say "x"\n' } })],
      files: [['e-1', { metrics: { '@cmd': -1, ' padded': 2 } }]],
      rows: [
        ['experiment', 'param_to,ol', 'param_q', ...HEAD],
        ['e-1', "'=1+1", 'say "x"\n', ...OK_FIXED, ' padded', '2', ''],
        ['e-1', "'=1+1", 'say "x"\n', ...OK_FIXED, "'@cmd", '-1', ''],
      ],
    },
    {
      name: 'each metric’s declared unit, untrusted text quoted and kept from running as a formula',
      experiments: [experiment('u', { params: { tool: 'a' } })],
      files: [['u', { metrics: { coverage: 41.5, time: 3, plain: 1 } }]],
      units: { coverage: { unit: '%', better: 'higher' }, time: { unit: '=s,"x"' }, other: { unit: 'ms' } },
      rows: [
        ['experiment', 'param_tool', ...HEAD],
        ['u', 'a', ...OK_FIXED, 'coverage', '41.5', '%'],
        ['u', 'a', ...OK_FIXED, 'plain', '1', ''],
        ['u', 'a', ...OK_FIXED, 'time', '3', `'=s,"x"`],
      ],
    },
    {
      name: 'no experiments: the header alone',
      experiments: [],
      rows: [['experiment', ...HEAD]],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const text = tidyCsv(c.experiments, new Map(c.files ?? []), new Map(Object.entries(c.units ?? {})));
      assert.deepEqual(parseCsv(text), c.rows);
      assert.ok(!text.startsWith('\ufeff'), 'no byte-order mark');
    });
  }

  it('writes quoted fields and CRLF exactly as RFC 4180 says', () => {
    const text = tidyCsv(
      [missing('m', { 'a b': 'x,y' })],
      new Map([['m', { metrics: { '=x': 1 } }]] as [string, ExperimentFiles][]),
    );
    assert.equal(
      text,
      'experiment,param_a b,status,attempt,started_at,ended_at,duration_seconds,cost_usd,commit,zone,machine_type,spot,metric,value,unit\r\n' +
        'm,"x,y",missing,,,,,,,,,,\'=x,1,\r\n',
    );
  });

  it('does not depend on the order experiments come in', () => {
    const xs = [experiment('b'), experiment('a10'), experiment('a2')];
    assert.equal(tidyCsv(xs), tidyCsv([...xs].reverse()));
    assert.deepEqual(
      parseCsv(tidyCsv(xs))
        .slice(1)
        .map((r) => r[0]),
      ['a10', 'a2', 'b'],
    );
  });
});
