import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { BASE_TIER, effectiveTier, entryTier, nextTier, qualifiedTier, standing, upgrade, type TierLevel } from '../../subgraphs/members/src/tier/tier.rule';

// The tier rule alone, without a database: the end-to-end tier tests are in ledger.test.ts and members.test.ts.
const tier = (id: string, rank: number, qualifyingPoints: number): TierLevel => ({ id, name: id, rank, qualifyingPoints, earnMultiplier: 1 });
const bronze = tier('bronze', 0, 0);
const silver = tier('silver', 1, 1000);
const gold = tier('gold', 2, 5000);
const program = [bronze, silver, gold];

describe('tier rule', () => {
  it('stands a member without a recorded tier on the highest rank that needs no points, else the base tier', () => {
    const cases: { tiers: TierLevel[]; entry: TierLevel | undefined }[] = [
      { tiers: program, entry: bronze },
      { tiers: [tier('a', 0, 0), tier('b', 1, 0), silver], entry: tier('b', 1, 0) },
      { tiers: [silver, gold], entry: undefined },
      { tiers: [], entry: undefined },
    ];
    for (const { tiers, entry } of cases) {
      assert.deepEqual(entryTier(tiers), entry);
      assert.deepEqual(effectiveTier({ tierId: null }, tiers), entry ?? BASE_TIER);
    }
    assert.deepEqual(effectiveTier({ tierId: 'gold' }, program), gold);
    assert.deepEqual(effectiveTier({ tierId: 'unknown' }, program), bronze);
  });

  it('finds the next tier and the points still needed, none at the top', () => {
    const cases: { tierId: string | null; points: number; next: TierLevel | null; toNext: number | null }[] = [
      { tierId: null, points: 0, next: silver, toNext: 1000 },
      { tierId: 'bronze', points: 400, next: silver, toNext: 600 },
      { tierId: 'silver', points: 1200, next: gold, toNext: 3800 },
      // Points past the next threshold without an upgrade yet (e.g. a tier raised later): never negative.
      { tierId: 'bronze', points: 1500, next: silver, toNext: 0 },
      { tierId: 'gold', points: 9000, next: null, toNext: null },
    ];
    for (const { tierId, points, next, toNext } of cases) {
      const result = standing({ tierId }, program, points);
      assert.deepEqual([result.next, result.pointsToNext, result.qualifyingPoints], [next, toNext, points], `tier ${tierId} with ${points} points`);
    }
    assert.deepEqual(nextTier(BASE_TIER, [silver]), silver);
  });

  it('upgrades to the highest tier the window qualifies for, never down', () => {
    const cases: { tiers: TierLevel[]; tierId: string | null; points: number; expected: ReturnType<typeof upgrade> }[] = [
      { tiers: program, tierId: 'bronze', points: 999, expected: undefined },
      { tiers: program, tierId: 'bronze', points: 1000, expected: { previousTierId: 'bronze', tierId: 'silver' } },
      { tiers: program, tierId: 'bronze', points: 7000, expected: { previousTierId: 'bronze', tierId: 'gold' } },
      { tiers: program, tierId: null, points: 1000, expected: { previousTierId: 'bronze', tierId: 'silver' } },
      { tiers: program, tierId: 'gold', points: 1000, expected: undefined },
      { tiers: [silver, gold], tierId: null, points: 1000, expected: { previousTierId: null, tierId: 'silver' } },
      { tiers: [silver, gold], tierId: null, points: 10, expected: undefined },
      { tiers: [], tierId: null, points: 10_000, expected: undefined },
    ];
    for (const { tiers, tierId, points, expected } of cases) {
      assert.deepEqual(upgrade({ tierId }, tiers, points), expected, `tier ${tierId} with ${points} points`);
    }
    assert.equal(qualifiedTier(4999, program), silver);
  });
});
