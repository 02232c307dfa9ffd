import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { didYouMean, editDistance, nearestName, suggestionThreshold } from '../../src/suggest.ts';

describe('editDistance', () => {
  const cases: [string, string, number][] = [
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['run', 'run', 0],
    ['rn', 'run', 1],
    ['paralel', 'parallel', 1],
    ['tolo', 'tool', 1],
    ['ab', 'ba', 1],
    ['abcd', 'badc', 2],
    ['ca', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['evomastr', 'evomaster', 1],
    ['Run', 'run', 1],
    ['naïve', 'naive', 1],
    ['😀a', 'a😀', 1],
  ];
  for (const [a, b, want] of cases) {
    it(`${JSON.stringify(a)} -> ${JSON.stringify(b)} is ${want}`, () => {
      assert.equal(editDistance(a, b), want);
      assert.equal(editDistance(b, a), want, 'symmetric');
    });
  }
});

describe('suggestionThreshold', () => {
  const cases: [string, number][] = [
    ['', 1],
    ['rn', 1],
    ['tol', 1],
    ['tools', 1],
    ['sample', 2],
    ['paralel', 2],
    ['repetitions', 3],
  ];
  for (const [name, want] of cases) {
    it(`${JSON.stringify(name)} allows ${want}`, () => assert.equal(suggestionThreshold(name), want));
  }
});

describe('nearestName', () => {
  const commands = ['run', 'status', 'janitor', 'rerun', 'help', 'version'];
  const cases: [string, string, readonly string[], string | undefined][] = [
    ['a dropped letter', 'rn', commands, 'run'],
    ['a swap', 'stauts', commands, 'status'],
    ['an extra letter', 'reruns', commands, 'rerun'],
    ['case is ignored', 'RUN', commands, 'run'],
    ['nothing near', 'launch', commands, undefined],
    ['an unrelated short word', 'xyz', ['tool', 'service'], undefined],
    ['an axis', 'tol', ['tool', 'service'], 'tool'],
    ['the closer one wins', 'sample', ['method', 'samples', 'seed'], 'samples'],
    ['the first listed wins a tie', 'bat', ['cat', 'bag'], 'cat'],
    ['a value', 'evomastr', ['evomaster', 'schemathesis', 'restler'], 'evomaster'],
    ['an option', 'paralel', ['parallel', 'out', 'set'], 'parallel'],
    ['an exact name is itself', 'run', commands, 'run'],
    ['the empty name', '', ['a'], undefined],
    ['no candidates', 'run', [], undefined],
  ];
  for (const [name, given, candidates, want] of cases) {
    it(name, () => assert.equal(nearestName(given, candidates), want));
  }
  it('takes a stricter or looser bound', () => {
    assert.equal(nearestName('paralel', ['parallel'], { maxDistance: 0 }), undefined);
    assert.equal(nearestName('launch', ['lunch'], { maxDistance: 1 }), 'lunch');
    assert.equal(nearestName('xyz', ['abc'], { maxDistance: 3 }), 'abc');
  });
  it('takes any iterable', () => {
    assert.equal(nearestName('tol', new Set(['tool'])), 'tool');
    assert.equal(nearestName('tol', new Map([['tool', 1]]).keys()), 'tool');
  });
});

describe('didYouMean', () => {
  const cases: [
    string,
    string,
    readonly string[],
    ((c: string) => string) | undefined,
    string | undefined,
  ][] = [
    ['plain', 'rn', ['run'], undefined, 'did you mean run?'],
    ['shown as an option', 'paralel', ['parallel'], (c) => `--${c}`, 'did you mean --parallel?'],
    ['nothing near', 'zzz', ['run'], undefined, undefined],
  ];
  for (const [name, given, candidates, show, want] of cases) {
    it(name, () => assert.equal(didYouMean(given, candidates, show), want));
  }
});
