import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import {
  RESOURCE_NAME,
  instanceName,
  labelValue,
  validateExperimentId,
  validateLabels,
} from '../../src/naming.ts';

describe('instanceName', () => {
  const cases: [string, string, number][] = [
    ['12345678901', 'tool=evomaster,service=petclinic,seed=1', 1],
    ['12345678901', 'A', 3],
    ['run', '---', 1],
    ['', 'x', 1],
    ['9'.repeat(40), 'y'.repeat(200), 99],
    ['gh-Owner/Repo-77', 'Élan.vital_01', 2],
  ];
  for (const [run, exp, attempt] of cases) {
    it(`is a valid resource name for ${JSON.stringify([run.slice(0, 12), exp.slice(0, 12), attempt])}`, () => {
      const name = instanceName(run, exp, attempt);
      assert.match(name, RESOURCE_NAME);
      assert.ok(name.length <= 63);
      assert.ok(name.endsWith(`-a${attempt}`));
    });
  }

  it('is the same for the same run, experiment and attempt (a re-run finds the same VM)', () => {
    assert.equal(instanceName('42', 'tool=a', 1), instanceName('42', 'tool=a', 1));
  });

  it('differs by experiment even when the readable part is cut or folded alike', () => {
    const long = 'x'.repeat(100);
    assert.notEqual(instanceName('42', `${long}1`, 1), instanceName('42', `${long}2`, 1));
    assert.notEqual(instanceName('42', 'a.b', 1), instanceName('42', 'a_b', 1));
  });

  it('differs by attempt and by run', () => {
    assert.notEqual(instanceName('42', 'e', 1), instanceName('42', 'e', 2));
    assert.notEqual(instanceName('42', 'e', 1), instanceName('43', 'e', 1));
  });

  it('rejects attempts outside 1..99', () => {
    assert.throws(() => instanceName('42', 'e', 0), ConfigurationError);
    assert.throws(() => instanceName('42', 'e', 1.5), ConfigurationError);
  });
});

describe('validateExperimentId', () => {
  for (const ok of ['a', 'tool-a_service.b', '0', 'A'.repeat(200)]) {
    it(`accepts ${ok.slice(0, 20)}`, () => validateExperimentId(ok));
  }
  for (const bad of ['', '-a', 'a/b', '../x', 'a b', 'A'.repeat(201), 'é']) {
    it(`rejects ${JSON.stringify(bad.slice(0, 20))} naming the input`, () => {
      assert.throws(() => validateExperimentId(bad, 'matrix id'), /matrix id .* is not valid/);
    });
  }
});

describe('labels', () => {
  it('folds any text into a valid label value', () => {
    for (const text of ['Owner/Repo', 'x'.repeat(100), 'A B:C', '']) {
      assert.match(labelValue(text), /^[-_a-z0-9]{0,63}$/);
    }
    assert.notEqual(labelValue('x'.repeat(100)), labelValue(`${'x'.repeat(99)}y`));
  });

  it('rejects bad keys and values, naming them', () => {
    assert.throws(() => validateLabels({ Team: 'a' }), /label key "Team"/);
    assert.throws(() => validateLabels({ team: 'A' }), /label team="A"/);
    assert.throws(() => validateLabels({ team: 'x'.repeat(64) }), /invalid value/);
    validateLabels({ team: 'bench', 'cost-center': '' });
  });
});
