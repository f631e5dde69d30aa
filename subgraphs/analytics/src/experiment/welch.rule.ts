import tCdf from '@stdlib/stats-base-dists-t-cdf';

/**
 * The statistics of an experiment report, free of I/O. Each arm is summarised by its members' count,
 * mean and sum of squared deviations (M2) of one figure (purchase amount per member, zeros included),
 * so summaries of buckets merge exactly (Chan et al.'s parallel formula) and nothing sums squares of
 * large amounts in floating point.
 */
export interface Summary {
  n: number;
  mean: number;
  /** Sum of squared deviations from the mean: the sample variance is m2 / (n − 1). */
  m2: number;
}

export const EMPTY: Summary = { n: 0, mean: 0, m2: 0 };

/** Two summaries as one (the union of their samples). */
export function merge(a: Summary, b: Summary): Summary {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return { n, mean: a.mean + (delta * b.n) / n, m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n };
}

/** A summary of a sample (for tests and small inputs). */
export function summarise(values: readonly number[]): Summary {
  return values.reduce<Summary>((s, x) => merge(s, { n: 1, mean: x, m2: 0 }), EMPTY);
}

export interface Welch {
  t: number;
  df: number;
  /** Two-sided. */
  pValue: number;
}

/**
 * Welch's unequal-variances t-test of `a` against `b`, two-sided, with the Welch–Satterthwaite degrees
 * of freedom; the t distribution's CDF is @stdlib's. Null when either sample has fewer than 2 values.
 * Two samples without any spread are told apart by their means alone: p = 1 if equal, else 0.
 */
export function welch(a: Summary, b: Summary): Welch | null {
  if (a.n < 2 || b.n < 2) return null;
  const va = a.m2 / (a.n - 1) / a.n;
  const vb = b.m2 / (b.n - 1) / b.n;
  const se2 = va + vb;
  if (se2 === 0) return { t: a.mean === b.mean ? 0 : Math.sign(a.mean - b.mean) * Infinity, df: a.n + b.n - 2, pValue: a.mean === b.mean ? 1 : 0 };
  const t = (a.mean - b.mean) / Math.sqrt(se2);
  const df = (se2 * se2) / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  const pValue = 2 * tCdf(-Math.abs(t), df);
  return { t, df, pValue: Math.min(1, Math.max(0, pValue)) };
}

/** (arm − holdout) ÷ holdout, as a fraction; null without a holdout or when its mean is 0. */
export function uplift(arm: Summary, holdout: Summary | null): number | null {
  if (!holdout || holdout.n === 0 || holdout.mean === 0) return null;
  return (arm.mean - holdout.mean) / holdout.mean;
}
