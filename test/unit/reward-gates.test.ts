import { describe, expect, it } from '@jest/globals';
import type { MemberSnapshot } from '@loyalty/kit';
import { kindsAround, refusal, type RewardTerms } from '../../subgraphs/rewards/src/reward/reward.eligibility';

const reward: RewardTerms = { active: true, validFrom: null, validUntil: null, stock: 0, minTierRank: null, limitPerMember: 1, costPoints: 100 };
const member = { status: 'ACTIVE', balance: 0, tier: { rank: 0 } } as unknown as MemberSnapshot;

describe('the gates around stock (redeemReward takes stock itself, atomically)', () => {
  it('splits the table at stock: availability, member and limit before it, balance after it', () => {
    expect(kindsAround('stock')).toEqual({ before: ['availability', 'member', 'limit'], after: ['balance'] });
  });

  it('keeps the refusal order: a gate before stock still wins, the stock gate itself is left out', () => {
    const facts = { reward, member, taken: 1, held: 0 };
    const { before, after } = kindsAround('stock');
    expect(refusal(facts, before)?.code).toBe('NOT_ELIGIBLE');
    expect(refusal({ ...facts, taken: 0 }, before)).toBeNull();
    expect(refusal({ ...facts, taken: 0 }, after)?.code).toBe('INSUFFICIENT_POINTS');
    // The whole table says OUT_OF_STOCK first: the caller asks the stock before reporting a later gate.
    expect(refusal({ ...facts, taken: 0 })?.code).toBe('OUT_OF_STOCK');
  });
});
