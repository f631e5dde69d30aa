import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { BASE, HOLDOUT, armOfBucket, armRanges, experimentArm, experimentBucket, experimentProblem, type ExperimentShape } from '@loyalty/kit';
import { rulesFor } from '../../subgraphs/campaigns/src/experiment/experiment.rule';
import type { RuleSpec } from '../../subgraphs/campaigns/src/rules/rules';

const shape = (holdoutPercent: number, weights: number[] = []): ExperimentShape => ({
  holdoutPercent,
  variants: weights.map((weight, i) => ({ key: `V${i}`, weight })),
});

describe('experiment arms', () => {
  it.each<[string, ExperimentShape, [string, number, number][]]>([
    ['no holdout, no variants: everyone BASE', shape(0), [[BASE, 0, 100]]],
    ['a holdout without variants', shape(10), [[HOLDOUT, 0, 10], [BASE, 10, 100]]],
    ['all in holdout', shape(100), [[HOLDOUT, 0, 100], [BASE, 100, 100]]],
    ['two equal variants', shape(20, [1, 1]), [[HOLDOUT, 0, 20], ['V0', 20, 60], ['V1', 60, 100]]],
    ['weights 1:3', shape(0, [1, 3]), [['V0', 0, 25], ['V1', 25, 100]]],
    ['three equal variants, no holdout: rounded at the cumulative boundaries', shape(0, [1, 1, 1]), [['V0', 0, 33], ['V1', 33, 67], ['V2', 67, 100]]],
    ['weights 1:2 in 90 buckets', shape(10, [1, 2]), [[HOLDOUT, 0, 10], ['V0', 10, 40], ['V1', 40, 100]]],
  ])('%s', (_name, experiment, expected) => {
    assert.deepEqual(armRanges(experiment).map((a) => [a.key, a.from, a.to]), expected);
    // Every bucket belongs to exactly the arm whose range holds it.
    for (let bucket = 0; bucket < 100; bucket++) {
      const owner = expected.find(([, from, to]) => bucket >= from && bucket < to)!;
      assert.equal(armOfBucket(experiment, bucket), owner[0]);
    }
  });

  it('keeps every arm less than a bucket off its share, whatever the weights', () => {
    for (const [holdout, weights] of [[0, [1, 1, 1]], [7, [3, 5, 11]], [33, [1, 2, 3, 4]], [50, [97, 1]]] as [number, number[]][]) {
      const total = weights.reduce((a, b) => a + b, 0);
      const arms = armRanges(shape(holdout, weights));
      weights.forEach((w, i) => {
        const arm = arms.find((a) => a.key === `V${i}`)!;
        assert.ok(Math.abs(arm.to - arm.from - ((100 - holdout) * w) / total) < 1, `${holdout} ${weights.join(':')} V${i}`);
      });
    }
  });

  it('hashes tenant, campaign and member into a bucket, the same on every call, case-blind on ids', () => {
    const [campaign, member] = [randomUUID(), randomUUID()];
    const bucket = experimentBucket('t-1', campaign, member);
    assert.ok(bucket >= 0 && bucket < 100);
    assert.equal(experimentBucket('t-1', campaign, member), bucket);
    assert.equal(experimentBucket('t-1', campaign.toUpperCase(), member.toUpperCase()), bucket);
    // A known value: md5("t:…0001:…0002") = ef3aa7c8…, 0xef3aa7c8 mod 100 = 64 (as PostgreSQL's md5 computes it too).
    assert.equal(experimentBucket('t', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'), 0xef3aa7c8 % 100);
    assert.equal(0xef3aa7c8 % 100, 64);
  });

  it('puts 100,000 members within 1 percentage point of of each arm its share', () => {
    const experiment = shape(10, [1, 1, 2]);
    const counts = new Map<string, number>();
    const campaign = randomUUID();
    for (let i = 0; i < 100_000; i++) {
      const arm = experimentArm(experiment, 't-bench', campaign, randomUUID());
      counts.set(arm, (counts.get(arm) ?? 0) + 1);
    }
    const shares: Record<string, number> = { HOLDOUT: 10, V0: 22.5, V1: 22.5, V2: 45 };
    for (const [key, share] of Object.entries(shares)) assert.ok(Math.abs((counts.get(key)! / 1000) - share) < 1, `${key}: ${counts.get(key)! / 1000} % against ${share} %`);
  });
});

describe('experiment input', () => {
  it.each<[string, ExperimentShape, string | null]>([
    ['a valid experiment', { holdoutPercent: 10, variants: [{ key: 'A', weight: 1 }, { key: 'b_2-x', weight: 100 }] }, null],
    ['holdout only', { holdoutPercent: 100, variants: [] }, null],
    ['holdout above 100', { holdoutPercent: 101, variants: [] }, 'experiment.holdoutPercent'],
    ['negative holdout', { holdoutPercent: -1, variants: [] }, 'experiment.holdoutPercent'],
    ['fractional holdout', { holdoutPercent: 1.5, variants: [] }, 'experiment.holdoutPercent'],
    ['weight 0', { holdoutPercent: 0, variants: [{ key: 'A', weight: 0 }] }, 'experiment.variants.0.weight'],
    ['weight above 100', { holdoutPercent: 0, variants: [{ key: 'A', weight: 1 }, { key: 'B', weight: 101 }] }, 'experiment.variants.1.weight'],
    ['fractional weight', { holdoutPercent: 0, variants: [{ key: 'A', weight: 0.5 }] }, 'experiment.variants.0.weight'],
    ['a key twice', { holdoutPercent: 0, variants: [{ key: 'A', weight: 1 }, { key: 'A', weight: 1 }] }, 'experiment.variants.1.key'],
    ['HOLDOUT as a key', { holdoutPercent: 0, variants: [{ key: HOLDOUT, weight: 1 }] }, 'experiment.variants.0.key'],
    ['BASE as a key', { holdoutPercent: 0, variants: [{ key: BASE, weight: 1 }] }, 'experiment.variants.0.key'],
    ['an empty key', { holdoutPercent: 0, variants: [{ key: '', weight: 1 }] }, 'experiment.variants.0.key'],
    ['a key with a space', { holdoutPercent: 0, variants: [{ key: 'a b', weight: 1 }] }, 'experiment.variants.0.key'],
    ['eleven variants', { holdoutPercent: 0, variants: Array.from({ length: 11 }, (_, i) => ({ key: `V${i}`, weight: 1 })) }, 'experiment.variants'],
  ])('%s', (_name, experiment, field) => {
    assert.equal(experimentProblem(experiment)?.field ?? null, field);
  });
});

describe('rules for a member', () => {
  const rule = (id: string): RuleSpec => ({ id, name: id, trigger: 'PURCHASE', eventName: null, calculation: 'FIXED', points: 1, amountStep: null, minOrderAmount: null, maxPointsPerMember: null, capPeriod: null, happyHours: [] });
  const campaign = (experiment: Parameters<typeof rulesFor>[0]['experiment']) => ({ id: randomUUID(), tenant: 't-rules', rules: [rule('own')], experiment });
  const variants = [{ key: 'A', weight: 1, rules: [rule('a')] }, { key: 'B', weight: 1, rules: [rule('b')] }];

  it('gives the holdout nothing, a variant its rules, BASE and campaigns without a running experiment their own', () => {
    const running = campaign({ holdoutPercent: 30, variants, startedAt: new Date().toISOString(), endedAt: null });
    const base = campaign({ holdoutPercent: 30, variants: [], startedAt: null, endedAt: null });
    const ended = campaign({ holdoutPercent: 30, variants, startedAt: new Date().toISOString(), endedAt: new Date().toISOString() });
    const none = campaign(null);
    for (let i = 0; i < 200; i++) {
      const member = randomUUID();
      const arm = experimentArm(running.experiment!, running.tenant, running.id, member);
      assert.deepEqual(rulesFor(running, member).map((r) => r.id), { HOLDOUT: [], A: ['a'], B: ['b'] }[arm]);
      const baseArm = experimentArm(base.experiment!, base.tenant, base.id, member);
      assert.deepEqual(rulesFor(base, member).map((r) => r.id), baseArm === HOLDOUT ? [] : ['own']);
      assert.deepEqual(rulesFor(ended, member).map((r) => r.id), ['own']);
      assert.deepEqual(rulesFor(none, member).map((r) => r.id), ['own']);
    }
  });
});
