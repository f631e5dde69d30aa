/**
 * A tenant's program policy as the rules read it: when credits expire, when members are reminded,
 * how tiers are reviewed, how much members may transfer to each other, and the time zone that calendar days, months and quarters are counted in.
 * Plain data, no GraphQL or database: expiry.rule.ts and tier.rule.ts decide on it, ProgramService
 * reads it (the defaults for a tenant that never set one), program.type.ts shows it to clients.
 */
import { QUALIFICATION_MONTHS } from '../tier/tier.rule';

/** Both a value (the GraphQL enum registers it) and the type of its values. */
export const ExpiryMode = {
  /** Credits never expire. */
  NEVER: 'NEVER',
  /** Each credit expires `days` after it was earned, optionally rounded up to a period's end. */
  AFTER_DAYS: 'AFTER_DAYS',
  /** All of a member's points expire `days` after its last EARN or REDEEM. */
  ROLLING: 'ROLLING',
} as const;
export type ExpiryMode = (typeof ExpiryMode)[keyof typeof ExpiryMode];

export const ExpiryRounding = {
  NONE: 'NONE',
  END_OF_MONTH: 'END_OF_MONTH',
  END_OF_QUARTER: 'END_OF_QUARTER',
  END_OF_YEAR: 'END_OF_YEAR',
} as const;
export type ExpiryRounding = (typeof ExpiryRounding)[keyof typeof ExpiryRounding];

export const TierDowngrade = {
  /** A tier once reached is kept. */
  NEVER: 'NEVER',
  /** A member that no longer qualifies goes down one rank per review. */
  ONE_LEVEL: 'ONE_LEVEL',
  /** A member that no longer qualifies goes to the highest tier it qualifies for. */
  TO_QUALIFIED: 'TO_QUALIFIED',
} as const;
export type TierDowngrade = (typeof TierDowngrade)[keyof typeof TierDowngrade];

export interface ExpiryPolicySpec {
  mode: ExpiryMode;
  /** Null exactly when `mode` is NEVER. */
  days: number | null;
  /** Always NONE unless `mode` is AFTER_DAYS. */
  roundTo: ExpiryRounding;
  /** Days before a lot's expiry that a reminder goes out, descending, each ≥ 1 and < `days`. */
  reminderDays: number[];
}

export interface TierPolicySpec {
  /** The months of EARN points a tier qualifies on. */
  windowMonths: number;
  downgrade: TierDowngrade;
  /** How long a member keeps a tier it no longer qualifies for before the downgrade; 0: none. */
  graceDays: number;
}

/** What one member may send to others per calendar day (in the program's time zone); null: no limit. */
export interface TransferPolicySpec {
  maxPointsPerDay: number | null;
  maxTransfersPerDay: number | null;
}

export interface ProgramPolicy {
  /** An IANA time zone name: days, months, quarters and years are counted in it. */
  timeZone: string;
  expiry: ExpiryPolicySpec;
  tierPolicy: TierPolicySpec;
  transfers: TransferPolicySpec;
}

/** The limits `updateProgram` enforces (and the migration's CHECKs repeat). */
export const POLICY_LIMITS = {
  maxExpiryDays: 36_500,
  maxReminders: 10,
  windowMonths: { min: 1, max: 120 },
  graceDays: { min: 0, max: 3650 },
  /** A daily transfer limit, when set: at least 1 (0 would be "transfers off", which is not a limit). */
  transferLimit: { min: 1, max: 2_147_483_647 },
} as const;

/**
 * What a tenant that never set a policy has: nothing expires, tiers as they always were, transfers
 * without daily limits. A fresh copy each call.
 */
export const defaultProgramPolicy = (): ProgramPolicy => ({
  timeZone: 'UTC',
  expiry: { mode: ExpiryMode.NEVER, days: null, roundTo: ExpiryRounding.NONE, reminderDays: [] },
  tierPolicy: { windowMonths: QUALIFICATION_MONTHS, downgrade: TierDowngrade.TO_QUALIFIED, graceDays: 0 },
  transfers: { maxPointsPerDay: null, maxTransfersPerDay: null },
});
