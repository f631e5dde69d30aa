/**
 * The arithmetic of returns, free of I/O: how many points a return of part of an order takes back,
 * and how they are shared among the campaign rules that awarded the order. Integers throughout
 * (BigInt where a product could pass 2^53: points up to 10^8 times amounts up to 2^31).
 */

/**
 * The points a return of `returning` (minor units) takes back from an order of `orderAmount` that
 * earned `earned`, after `returnedBefore` was returned already: cumulative, so that after any
 * number of partial returns the points taken back are floor(earned × returned / orderAmount) and
 * a full return takes back exactly what the order earned. The caller checks
 * `returnedBefore + returning <= orderAmount` first (see `exceedsOrder`).
 */
export function returnPoints(earned: number, orderAmount: number, returnedBefore: number, returning: number): number {
  if (earned <= 0) return 0;
  const share = (returned: number) => (BigInt(earned) * BigInt(returned)) / BigInt(orderAmount);
  return Number(share(returnedBefore + returning) - share(returnedBefore));
}

/** Whether a return would take the order's returned total past the order amount. */
export const exceedsOrder = (orderAmount: number, returnedBefore: number, returning: number): boolean => returnedBefore + returning > orderAmount;

/**
 * Splits `total` into integer parts proportional to `weights` that sum to exactly `total`
 * (largest remainder; ties go to the earlier weight, so the split is deterministic). With
 * `total <= sum(weights)` no part exceeds its weight.
 */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (total < 0 || total > sum) throw new RangeError(`cannot apportion ${total} over weights summing to ${sum}`);
  if (total === 0) return weights.map(() => 0);
  const T = BigInt(total);
  const S = BigInt(sum);
  const parts = weights.map((w) => ({ base: Number((T * BigInt(w)) / S), remainder: (T * BigInt(w)) % S }));
  let left = total - parts.reduce((a, p) => a + p.base, 0);
  const order = parts.map((_, i) => i).sort((a, b) => (parts[b]!.remainder > parts[a]!.remainder ? 1 : parts[b]!.remainder < parts[a]!.remainder ? -1 : a - b));
  for (const i of order) {
    if (left === 0) break;
    parts[i]!.base += 1;
    left -= 1;
  }
  return parts.map((p) => p.base);
}

/** One award of the order, with what earlier returns already took off it. */
export interface AwardShare {
  campaignId: string;
  ruleId: string;
  /** What the rule awarded the order. */
  points: number;
  /** What earlier returns of the order took back from it. */
  reversed: number;
}

export interface Reversal {
  campaignId: string;
  ruleId: string;
  points: number;
}

/**
 * Shares the points a return took back among the awards of its order, in proportion to what each
 * still holds (awarded minus earlier returns' shares): first across campaigns, then within each
 * campaign across its rules, each step by `apportion`. So the shares sum exactly to `points`, each
 * campaign's share is proportional to what it awarded, and no award ever gives back more than it
 * gave, however many partial returns there are. Awards are taken in the order given (the caller
 * sorts them), so the split is deterministic. Returns the non-zero shares.
 */
export function splitReversal(points: number, awards: readonly AwardShare[]): Reversal[] {
  const campaigns = [...new Set(awards.map((a) => a.campaignId))];
  const holding = (a: AwardShare) => a.points - a.reversed;
  const byCampaign = campaigns.map((id) => awards.filter((a) => a.campaignId === id));
  const campaignShares = apportion(
    points,
    byCampaign.map((rules) => rules.reduce((sum, a) => sum + holding(a), 0)),
  );
  return byCampaign.flatMap((rules, c) => {
    const shares = apportion(campaignShares[c]!, rules.map(holding));
    return rules.map((a, i) => ({ campaignId: a.campaignId, ruleId: a.ruleId, points: shares[i]! })).filter((r) => r.points > 0);
  });
}
