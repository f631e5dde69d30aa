/**
 * The tier rule, whole: which tier a member stands on, what it takes to reach the next, when
 * earning upgrades it, and what a review decides. Pure, with the clock passed in, so it can be
 * checked without a database; the SQL that feeds it (the qualification window over `earn_days`, the
 * entry tier for list filters) is in tier.repository.ts.
 *
 * - A member holds the highest tier whose `qualifyingPoints` ≤ its EARN points of the qualification
 *   window: the days from `qualificationWindowStart` on, `tierPolicy.windowMonths` (default 12)
 *   months back from today in the program's time zone. Earning only ever upgrades, in the crediting
 *   transaction.
 * - A member without a recorded tier stands on the tenant's entry tier: the highest rank that
 *   needs no points. A tenant without such a tier (or without tiers) has the built-in base tier.
 * - A review (`reviewTier`: daily, when a threshold changes, on `runPointsMaintenance`) compares the
 *   member's tier with what its window's points qualify for:
 *   - it qualifies higher: upgrade to the highest tier it qualifies for (any grace ends);
 *   - it still qualifies for its tier: keep it, and end a grace period that was running;
 *   - it no longer qualifies, `downgrade` NEVER: keep it (no grace period runs);
 *   - it no longer qualifies, `graceDays` > 0 and no grace running: start one, `retainedUntil` =
 *     now + `graceDays` days; while `retainedUntil` lies ahead the tier is kept;
 *   - it no longer qualifies, and `graceDays` is 0 or the grace is over: downgrade — ONE_LEVEL to the
 *     tier one rank below (one rank per review, each with its own grace, and at most one rank per
 *     calendar day in the program's zone, so two reviews on one day — two replicas, a threshold
 *     change and the daily review — never take a member down two ranks), TO_QUALIFIED straight to
 *     the highest tier it qualifies for. Below every tier it qualifies for lies the entry tier, and
 *     below that the built-in base, which is recorded as no tier (`tierId` null).
 * - Earning applies only the upward half of a review (`earnedChange`), in the crediting transaction:
 *   an upgrade, or the end of a grace period once the member qualifies for its tier again.
 * - The window in SQL: `earn_days` buckets EARN points by UTC day, so the window counts the buckets
 *   from `qualificationFirstDay` on, the UTC day that holds the window's first instant. For a zone
 *   other than UTC that bucket also holds a few hours before the window: the window is generous by
 *   at most that part of one day, never short.
 *
 * `tiers` are always one tenant's tiers in ascending rank, as TierRepository.list returns them.
 */
import { addDays, dayIn, startOfDayMonthsBefore } from '../program/calendar';
import type { ProgramPolicy } from '../program/program.policy';

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

/** The months of EARN points a tier qualifies on by default (`tierPolicy.windowMonths`). */
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

/**
 * The first instant of the qualification window at `now`: the start of the day `windowMonths`
 * calendar months ago in the program's zone (from 2026-03-31 twelve months back is 2025-03-31;
 * one month back is 2026-02-28).
 */
export const qualificationWindowStart = (now: Date, windowMonths: number, timeZone: string): Date => startOfDayMonthsBefore(now, windowMonths, timeZone);

/**
 * The first `earn_days` bucket (a UTC day, YYYY-MM-DD) of the window at `now`: the one that holds
 * `qualificationWindowStart`. Every sum of qualifying points starts there.
 */
export const qualificationFirstDay = (now: Date, policy: Pick<ProgramPolicy, 'timeZone' | 'tierPolicy'>): string =>
  dayIn(qualificationWindowStart(now, policy.tierPolicy.windowMonths, policy.timeZone), 'UTC');

/** What a review reads of the member: its recorded tier and the end of a grace period it is in. */
export interface ReviewedMember {
  tierId: string | null;
  retainedUntil: Date | null;
  /** When a review last took it down a tier (ONE_LEVEL moves at most one rank per day). */
  downgradedAt?: Date | null;
}

/** A tier change a review decides; `tierId` null is the built-in base (no recorded tier). */
// A type, not an interface: it travels as an event payload (a plain record), like TierUpgrade.
export type TierMove = {
  direction: 'UP' | 'DOWN';
  /** The tier recorded before (or the entry tier); null when the member stood on the built-in base. */
  previousTierId: string | null;
  tierId: string | null;
};

/**
 * What a review decides; the caller records it. Every outcome but `keep` changes what is stored:
 * `startGrace` sets `retainedUntil`, `endGrace` clears it, `move` records the tier and clears it.
 */
export type TierReview =
  | { kind: 'keep' }
  | { kind: 'startGrace'; retainedUntil: Date }
  | { kind: 'endGrace' }
  | ({ kind: 'move' } & TierMove);

/** The tier one rank below `current`: the next lower tier, else the built-in base. */
function oneBelow(current: TierLevel, tiers: readonly TierLevel[]): TierLevel {
  return tiers.filter((tier) => tier.rank < current.rank).at(-1) ?? BASE_TIER;
}

/** The review of one member at `now`, given its EARN points of the window (the rule in the head comment). */
export function reviewTier(
  policy: Pick<ProgramPolicy, 'timeZone' | 'tierPolicy'>,
  member: ReviewedMember,
  tiers: readonly TierLevel[],
  qualifyingPoints: number,
  now: Date,
): TierReview {
  const current = effectiveTier(member, tiers);
  // The entry tier needs no points, so only a tenant without one falls through to the base.
  const qualified = qualifiedTier(qualifyingPoints, tiers) ?? BASE_TIER;
  const previousTierId = member.tierId ?? entryTier(tiers)?.id ?? null;
  const move = (to: TierLevel, direction: TierMove['direction']): TierReview => ({
    kind: 'move',
    direction,
    previousTierId,
    tierId: to.id === BASE_TIER.id ? null : to.id,
  });
  const keep = (): TierReview => (member.retainedUntil ? { kind: 'endGrace' } : { kind: 'keep' });

  if (qualified.rank > current.rank) return move(qualified, 'UP');
  if (qualifies(current, qualifyingPoints)) return keep();

  const { downgrade, graceDays } = policy.tierPolicy;
  if (downgrade === 'NEVER') return keep();
  if (graceDays > 0 && !member.retainedUntil) return { kind: 'startGrace', retainedUntil: addDays(now, graceDays, policy.timeZone) };
  if (member.retainedUntil && member.retainedUntil.getTime() > now.getTime()) return { kind: 'keep' };
  if (downgrade === 'ONE_LEVEL') {
    const today = dayIn(now, policy.timeZone);
    if (member.downgradedAt && dayIn(member.downgradedAt, policy.timeZone) === today) return { kind: 'keep' };
    return move(oneBelow(current, tiers), 'DOWN');
  }
  return move(qualified, 'DOWN');
}

/**
 * What an EARN credit changes, in its transaction: the upward half of `reviewTier` (an upgrade, or
 * the end of a grace period the member no longer needs). Earning never lowers a tier or starts a grace.
 */
export function earnedChange(...review: Parameters<typeof reviewTier>): TierReview {
  const outcome = reviewTier(...review);
  if (outcome.kind === 'endGrace' || (outcome.kind === 'move' && outcome.direction === 'UP')) return outcome;
  return { kind: 'keep' };
}
