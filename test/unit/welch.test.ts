import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { EMPTY, merge, summarise, uplift, welch } from '../../subgraphs/analytics/src/experiment/welch.rule';

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} against ${expected}`);

// Reference values from scipy.stats.ttest_ind(a, b, equal_var=False) (R's t.test(a, b) agrees: Welch is its default).
const cases: { name: string; a: number[]; b: number[]; t: number; df: number; p: number }[] = [
  {
    // The first example of Welch's t-test on Wikipedia (equal sizes, unequal variances).
    name: 'Wikipedia example 1',
    a: [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4],
    b: [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4],
    t: -2.455356398286006,
    df: 24.988529290231416,
    p: 0.021378001462866992,
  },
  {
    // Its third example: unequal sizes and variances.
    name: 'Wikipedia example 3',
    a: [19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0],
    b: [28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0, 23.9, 21.6, 24.3, 20.4, 23.9, 13.3],
    t: -2.225512039969852,
    df: 24.524634944257343,
    p: 0.035484530830010394,
  },
  {
    name: 'small samples',
    a: [1, 2, 3, 4],
    b: [2, 4, 6, 8, 10],
    t: -2.2514363231593695,
    df: 5.520787746170677,
    p: 0.06913359319239237,
  },
  {
    // Purchase amounts per member as a report sees them: mostly zeros.
    name: 'amounts per member, zeros included',
    a: [0, 0, 0, 0, 0, 0, 0, 0, 1200, 3000],
    b: [0, 0, 0, 0, 0, 0, 500, 800, 100, 2500, 0, 0],
    t: 0.25302817963302404,
    df: 16.38037972377088,
    p: 0.8033945226891853,
  },
];

describe("Welch's t-test", () => {
  it.each(cases)('$name', ({ a, b, t, df, p }) => {
    const result = welch(summarise(a), summarise(b))!;
    close(result.t, t, 1e-9, 't');
    close(result.df, df, 1e-9, 'df');
    close(result.pValue, p, 1e-9, 'p');
    // Symmetric: the same p either way round.
    close(welch(summarise(b), summarise(a))!.pValue, result.pValue, 1e-12, 'p reversed');
  });

  it('gives no p-value when either sample has fewer than 2 values', () => {
    assert.equal(welch(summarise([1]), summarise([1, 2, 3])), null);
    assert.equal(welch(summarise([1, 2]), EMPTY), null);
  });

  it('tells samples without spread apart by their means alone', () => {
    assert.equal(welch(summarise([0, 0, 0]), summarise([0, 0]))!.pValue, 1);
    assert.equal(welch(summarise([5, 5, 5]), summarise([0, 0]))!.pValue, 0);
  });

  it('merges summaries of parts into the summary of the whole (buckets into arms)', () => {
    const values = [0, 0, 1200, 0, 5000, 300, 0, 0, 999_999, 42];
    const whole = summarise(values);
    const parts = [values.slice(0, 3), values.slice(3, 4), [], values.slice(4)].map(summarise).reduce(merge, EMPTY);
    assert.equal(parts.n, whole.n);
    close(parts.mean, whole.mean, 1e-9, 'mean');
    close(parts.m2, whole.m2, 1e-6, 'm2');
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    close(whole.m2, values.reduce((s, x) => s + (x - mean) ** 2, 0), 1e-6, 'm2 by definition');
  });

  it.each<[string, number[], number[] | null, number | null]>([
    ['10 % more', [110, 110], [100, 100], 0.1],
    ['half', [50, 50], [100, 100], -0.5],
    ['no holdout', [1, 2], null, null],
    ['a holdout that spent nothing', [1, 2], [0, 0], null],
  ])('uplift: %s', (_name, arm, holdout, expected) => {
    const result = uplift(summarise(arm), holdout ? summarise(holdout) : null);
    if (expected === null) assert.equal(result, null);
    else close(result!, expected, 1e-12, 'uplift');
  });
});
