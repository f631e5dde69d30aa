import { createHash } from 'node:crypto';

/**
 * Experiment assignment (A/B tests on campaigns), free of I/O: the one home of the arm rule, read by
 * campaigns (which rules a member earns by) and analytics (which arm a member's figures count in).
 *
 * A member's bucket is a hash of tenant, campaign and member into 100 buckets — the first 32 bits of
 * md5("<tenant>:<campaign id>:<member id>") mod 100 — so it is the same on every replica, on every
 * call and in SQL (`experimentBucketSql`, PostgreSQL's md5). The buckets are dealt to arms in order:
 * the holdout's share first, then each variant (or the one arm BASE without variants) gets its weight's
 * share of what is left, rounded at the cumulative boundaries: each boundary is within half a bucket
 * of its exact place, so no arm is a whole bucket (one percentage point) off its share.
 */

/** The control arm: its members get nothing from the campaign. */
export const HOLDOUT = 'HOLDOUT';
/** The one arm of an experiment without variants: the campaign's own rules. */
export const BASE = 'BASE';
export const BUCKETS = 100;
/** Variant keys: letters, digits, `_` and `-`, as a report's columns and a dashboard's labels use them. */
export const VARIANT_KEY = /^[A-Za-z0-9_-]{1,40}$/;
export const MAX_VARIANTS = 10;

/** What assignment reads of an experiment. */
export interface ExperimentShape {
  holdoutPercent: number;
  variants: readonly { key: string; weight: number }[];
}

/** The buckets [from, to) of one arm. */
export interface ArmRange {
  key: string;
  from: number;
  to: number;
}

/** Canonical text of a uuid (PostgreSQL prints uuids in lower case): JS and SQL hash the same string. */
const canonical = (id: string) => id.toLowerCase();

/** The member's bucket, 0–99. */
export function experimentBucket(tenant: string, campaignId: string, memberId: string): number {
  const digest = createHash('md5').update(`${tenant}:${canonical(campaignId)}:${canonical(memberId)}`).digest();
  return digest.readUInt32BE(0) % BUCKETS;
}

/**
 * The same bucket as an SQL expression over three SQL expressions (a text tenant and two uuids):
 * test/experiments.test.ts checks that it agrees with `experimentBucket`.
 */
export const experimentBucketSql = (tenant: string, campaignId: string, memberId: string): string =>
  `(('x' || substr(md5(${tenant} || ':' || ${campaignId}::text || ':' || ${memberId}::text), 1, 8))::bit(32)::bigint % ${BUCKETS})`;

/** Every arm with its buckets, HOLDOUT first (only when it has a share), then the variants or BASE. */
export function armRanges(experiment: ExperimentShape): ArmRange[] {
  const holdout = experiment.holdoutPercent;
  const arms: ArmRange[] = holdout > 0 ? [{ key: HOLDOUT, from: 0, to: holdout }] : [];
  const variants = experiment.variants.length > 0 ? experiment.variants : [{ key: BASE, weight: 1 }];
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  const share = BUCKETS - holdout;
  let cumulative = 0;
  let from = holdout;
  for (const variant of variants) {
    cumulative += variant.weight;
    const to = holdout + Math.round((cumulative * share) / total);
    arms.push({ key: variant.key, from, to });
    from = to;
  }
  return arms;
}

/** The arm that owns a bucket. */
export function armOfBucket(experiment: ExperimentShape, bucket: number): string {
  const arms = armRanges(experiment);
  return (arms.find((arm) => bucket >= arm.from && bucket < arm.to) ?? arms.at(-1)!).key;
}

/** The member's arm in the campaign's experiment. */
export function experimentArm(experiment: ExperimentShape, tenant: string, campaignId: string, memberId: string): string {
  return armOfBucket(experiment, experimentBucket(tenant, campaignId, memberId));
}

/**
 * What is wrong with an experiment's shape, as the input field at fault and why; null when nothing.
 * Weights are positive integers (relative: 1 and 1 split like 50 and 50), keys unique and not the
 * reserved HOLDOUT or BASE, the holdout 0–100 percent.
 */
export function experimentProblem(experiment: ExperimentShape): { field: string; message: string } | null {
  const { holdoutPercent, variants } = experiment;
  if (!Number.isInteger(holdoutPercent) || holdoutPercent < 0 || holdoutPercent > 100) {
    return { field: 'experiment.holdoutPercent', message: 'holdoutPercent must be an integer from 0 to 100' };
  }
  if (variants.length > MAX_VARIANTS) return { field: 'experiment.variants', message: `an experiment has at most ${MAX_VARIANTS} variants` };
  const seen = new Set<string>();
  for (const [i, variant] of variants.entries()) {
    if (!VARIANT_KEY.test(variant.key)) {
      return { field: `experiment.variants.${i}.key`, message: 'a variant key is 1 to 40 letters, digits, "_" or "-"' };
    }
    if (variant.key === HOLDOUT || variant.key === BASE) {
      return { field: `experiment.variants.${i}.key`, message: `${variant.key} is reserved for the ${variant.key === HOLDOUT ? 'control' : 'default'} arm` };
    }
    if (seen.has(variant.key)) return { field: `experiment.variants.${i}.key`, message: `the variant key ${variant.key} is used twice` };
    seen.add(variant.key);
    if (!Number.isInteger(variant.weight) || variant.weight < 1 || variant.weight > 100) {
      return { field: `experiment.variants.${i}.weight`, message: 'a weight is an integer from 1 to 100' };
    }
  }
  return null;
}
