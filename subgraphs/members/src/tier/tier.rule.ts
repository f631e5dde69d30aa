/**
 * The tier rule, whole: which tier a member stands on, what it takes to reach the next, and when
 * earning upgrades it. Pure, so it can be checked without a database; the SQL that feeds it (the
 * qualification window over `earn_days`, the entry tier for list filters) is in tier.repository.ts.
 *
 * - A member holds the highest tier whose `qualifyingPoints` ≤ its EARN points of the last 12
 *   months (the qualification window). Earning only ever upgrades, in the crediting transaction.
 * - A member without a recorded tier stands on the tenant's entry tier: the highest rank that
 *   needs no points. A tenant without such a tier (or without tiers) has the built-in base tier.
 *
 * `tiers` are always one tenant's tiers in ascending rank, as TierRepository.list returns them.
 */

/** What the rule reads of a tier; entities and GraphQL tiers both have it. */
export interface TierLevel {
  id: string;
  name: string;
  rank: number;
  qualifyingPoints: number;
  earnMultiplier: number;
}

/** A tenant without tiers still answers `Member.tier`: a built-in base tier. */
export const BASE_TIER: TierLevel = { id: 'base', name: 'Base', rank: 0, qualifyingPoints: 0, earnMultiplier: 1 };

/** The months of EARN points a tier qualifies on (the SQL form is QUALIFICATION_WINDOW_SQL). */
export const QUALIFICATION_MONTHS = 12;

/** Whether `points` earned in the window are enough to hold `tier`. */
export const qualifies = (tier: TierLevel, points: number): boolean => tier.qualifyingPoints <= points;

/** The tenant's entry tier: where a member without a recorded tier stands (undefined: none). */
export function entryTier<T extends TierLevel>(tiers: readonly T[]): T | undefined {
  return tiers.filter((tier) => tier.qualifyingPoints === 0).at(-1);
}

/** The member's tier: the one recorded on it, else the tenant's entry tier, else the built-in base. */
export function effectiveTier<T extends TierLevel>(member: { tierId: string | null }, tiers: readonly T[]): T | TierLevel {
  const recorded = member.tierId ? tiers.find((tier) => tier.id === member.tierId) : undefined;
  return recorded ?? entryTier(tiers) ?? BASE_TIER;
}

/** The tier above `current`, or undefined at the top. */
export function nextTier<T extends TierLevel>(current: TierLevel, tiers: readonly T[]): T | undefined {
  return tiers.find((tier) => tier.rank > current.rank);
}

/** The highest tier `points` qualify for, or undefined when none does. */
export function qualifiedTier<T extends TierLevel>(points: number, tiers: readonly T[]): T | undefined {
  return tiers.filter((tier) => qualifies(tier, points)).at(-1);
}

export interface TierStanding<T extends TierLevel> {
  current: T | TierLevel;
  next: T | null;
  qualifyingPoints: number;
  /** null at the top tier. */
  pointsToNext: number | null;
}

/** Where a member stands, given its EARN points of the window. */
export function standing<T extends TierLevel>(member: { tierId: string | null }, tiers: readonly T[], qualifyingPoints: number): TierStanding<T> {
  const current = effectiveTier(member, tiers);
  const next = nextTier(current, tiers) ?? null;
  return { current, next, qualifyingPoints, pointsToNext: next ? Math.max(0, next.qualifyingPoints - qualifyingPoints) : null };
}

// A type, not an interface: it travels as an event payload (a plain record).
export type TierUpgrade = {
  /** The tier recorded before (or the entry tier); null when the member stood on the built-in base. */
  previousTierId: string | null;
  tierId: string;
};

/** The upgrade that `qualifyingPoints` (the window's EARN points, this credit included) earn, if any. */
export function upgrade(member: { tierId: string | null }, tiers: readonly TierLevel[], qualifyingPoints: number): TierUpgrade | undefined {
  const candidate = qualifiedTier(qualifyingPoints, tiers);
  if (!candidate || candidate.rank <= effectiveTier(member, tiers).rank) return undefined;
  return { previousTierId: member.tierId ?? entryTier(tiers)?.id ?? null, tierId: candidate.id };
}
