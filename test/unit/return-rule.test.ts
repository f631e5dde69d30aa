import { describe, expect, it } from '@jest/globals';
import { apportion, exceedsOrder, returnPoints, splitReversal, type AwardShare } from '../../subgraphs/campaigns/src/return/return.rule';

/** Points taken back by a series of returns of one order, each computed against what came before. */
function series(earned: number, orderAmount: number, amounts: number[]): number[] {
  let returned = 0;
  return amounts.map((amount) => {
    const points = returnPoints(earned, orderAmount, returned, amount);
    returned += amount;
    return points;
  });
}

describe('returnPoints', () => {
  it.each<[string, number, number, number[], number[]]>([
    ['a full return takes back everything', 246, 12_345, [12_345], [246]],
    ['half of 101 points is 50', 101, 1000, [500], [50]],
    ['two halves take back all 101, the second the rounding left over', 101, 1000, [500, 500], [50, 51]],
    ['three thirds of 100 points: 33, 33, 34', 100, 300, [100, 100, 100], [33, 33, 34]],
    ['small returns that round to 0 add up later', 10, 1000, [50, 50, 900], [0, 1, 9]],
    ['an order that earned nothing gives nothing back', 0, 1000, [1000], [0]],
    ['one minor unit of a large order', 100_000_000, 2_000_000_000, [1], [0]],
    // 10^8 × (2·10^9 − 1) does not fit a double exactly: the arithmetic must not round.
    ['the largest products stay exact', 100_000_000, 2_000_000_000, [1_999_999_999, 1], [99_999_999, 1]],
  ])('%s', (_name, earned, orderAmount, amounts, expected) => {
    const points = series(earned, orderAmount, amounts);
    expect(points).toEqual(expected);
    // Cumulatively: floor(earned × returned / orderAmount), never more than earned.
    const returned = amounts.reduce((a, b) => a + b, 0);
    expect(points.reduce((a, b) => a + b, 0)).toBe(Math.min(earned, Number((BigInt(earned) * BigInt(returned)) / BigInt(orderAmount))));
  });

  it('is floor(earned × returned / amount) after any series of partial returns', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const orderAmount = 1 + ((seed * 7919) % 5000);
      const earned = (seed * 104_729) % 3000;
      const amounts: number[] = [];
      let left = orderAmount;
      for (let i = 0; left > 0 && i < 6; i++) {
        const amount = Math.max(1, Math.floor(left / (1 + ((seed + i) % 3))));
        amounts.push(amount);
        left -= amount;
      }
      const total = series(earned, orderAmount, amounts).reduce((a, b) => a + b, 0);
      const returned = amounts.reduce((a, b) => a + b, 0);
      expect(total).toBe(Math.floor((earned * returned) / orderAmount));
      expect(total).toBeLessThanOrEqual(earned);
    }
  });
});

describe('exceedsOrder', () => {
  it.each<[number, number, number, boolean]>([
    [1000, 0, 1000, false],
    [1000, 400, 600, false],
    [1000, 400, 601, true],
    [1000, 1000, 1, true],
    [0, 0, 1, true],
  ])('order %i, returned %i, returning %i → %s', (orderAmount, before, returning, expected) => {
    expect(exceedsOrder(orderAmount, before, returning)).toBe(expected);
  });
});

describe('apportion', () => {
  it.each<[number, number[], number[]]>([
    [2, [1, 1], [1, 1]],
    [10, [5, 5], [5, 5]],
    [1, [1, 1], [1, 0]], // a tie goes to the earlier weight
    [3, [1, 1, 1, 1], [1, 1, 1, 0]],
    [7, [2, 3, 5], [1, 2, 4]], // 1.4, 2.1, 3.5 → the largest remainder (.5) gets the leftover
    [10, [2, 3, 5], [2, 3, 5]],
    [0, [4, 6], [0, 0]],
    [5, [0, 5], [0, 5]],
    [100_000_000, [99_999_999, 1], [99_999_999, 1]],
  ])('%i over %j → %j', (total, weights, expected) => {
    const parts = apportion(total, weights);
    expect(parts).toEqual(expected);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
    parts.forEach((part, i) => expect(part).toBeLessThanOrEqual(weights[i]!));
  });

  it('refuses more than the weights hold', () => {
    expect(() => apportion(3, [1, 1])).toThrow(RangeError);
  });
});

describe('splitReversal', () => {
  const award = (campaignId: string, ruleId: string, points: number, reversed = 0): AwardShare => ({ campaignId, ruleId, points, reversed });

  it('splits across campaigns in proportion to what each awarded, then across their rules', () => {
    // Campaign a awarded 30 (two rules), b awarded 10: 20 points back → a 15, b 5.
    const shares = splitReversal(20, [award('a', 'a1', 20), award('a', 'a2', 10), award('b', 'b1', 10)]);
    expect(shares).toEqual([
      { campaignId: 'a', ruleId: 'a1', points: 10 },
      { campaignId: 'a', ruleId: 'a2', points: 5 },
      { campaignId: 'b', ruleId: 'b1', points: 5 },
    ]);
  });

  it('sums exactly, deterministically, and leaves out zero shares', () => {
    const awards = [award('a', 'a1', 1), award('b', 'b1', 1), award('c', 'c1', 1)];
    expect(splitReversal(2, awards)).toEqual([
      { campaignId: 'a', ruleId: 'a1', points: 1 },
      { campaignId: 'b', ruleId: 'b1', points: 1 },
    ]);
    expect(splitReversal(0, awards)).toEqual([]);
  });

  it('never takes more from an award than it still holds over several returns', () => {
    // Two returns of one point each against awards of 1 and 1: the second must go to the other award.
    const first = splitReversal(1, [award('a', 'a1', 1), award('b', 'b1', 1)]);
    expect(first).toEqual([{ campaignId: 'a', ruleId: 'a1', points: 1 }]);
    const second = splitReversal(1, [award('a', 'a1', 1, 1), award('b', 'b1', 1)]);
    expect(second).toEqual([{ campaignId: 'b', ruleId: 'b1', points: 1 }]);
  });

  it('gives each award back exactly what it awarded once everything is returned', () => {
    const awards = [award('a', 'a1', 37), award('a', 'a2', 5), award('b', 'b1', 58)];
    const reversed = new Map<string, number>();
    for (const points of [33, 33, 34]) {
      const shares = splitReversal(points, awards.map((a) => ({ ...a, reversed: reversed.get(a.ruleId) ?? 0 })));
      expect(shares.reduce((sum, s) => sum + s.points, 0)).toBe(points);
      for (const s of shares) reversed.set(s.ruleId, (reversed.get(s.ruleId) ?? 0) + s.points);
    }
    expect(Object.fromEntries(reversed)).toEqual({ a1: 37, a2: 5, b1: 58 });
  });
});
