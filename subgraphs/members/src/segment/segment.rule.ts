import { isDeepStrictEqual } from 'node:util';
import { BadInputError } from '@loyalty/kit';

/**
 * The conditions of a segment, declared once: each with its check of the input, its TypeScript test
 * (a member's refresh, `Member.segments`, the member snapshot) and its SQL condition (`memberCount`,
 * a segment's recomputation, `members(filter: { segmentId })`) side by side, so the paths cannot
 * drift (test/unit/segment-conditions.test.ts runs both on the same cases). A member is in a segment
 * when it is ACTIVE and every condition the segment sets holds; an unset condition holds.
 *
 * In SQL, `f` is a row of SEGMENT_FACTS_SQL (or any row with its columns), and `now` the instant
 * compared with (a parameter, so both paths compare with the same instant).
 */
export interface SegmentConditionsSpec {
  countries?: string[] | null;
  minTierRank?: number | null;
  attributeEquals?: Record<string, unknown> | null;
  minLifetimeEarned?: number | null;
  enrolledWithinDays?: number | null;
  inactiveForDays?: number | null;
  activeWithinDays?: number | null;
}

/** What the conditions read of a member. */
export interface SegmentFacts {
  status: 'ACTIVE' | 'SUSPENDED' | 'ERASED';
  country: string | null;
  /** The rank of the member's effective tier (tier.rule.ts effectiveTier; 0 on the built-in base). */
  tierRank: number;
  attributes: Record<string, unknown>;
  lifetimeEarned: number;
  enrolledAt: Date;
  /** The member's last activity: its last EARN or REDEEM ledger entry; null when it never had one. */
  lastActiveAt: Date | null;
}

/** Adds a value to the statement's parameters and returns its placeholder (`$3`, `:seg3`). */
export type Param = (value: unknown) => string;

const DAY_MS = 86_400_000;
export const MAX_DAYS = 3650;
export const MAX_COUNTRIES = 250;
export const MAX_ATTRIBUTE_KEYS = 20;
const COUNTRY = /^[A-Za-z]{2}$/;

/** `now` minus `days` whole days of 24 hours (never a calendar day: both paths agree across DST). */
const daysBefore = (now: Date, days: number) => now.getTime() - days * DAY_MS;
const daysBeforeSql = (now: () => string, days: string) => `(${now()}::timestamptz - ${days}::int * interval '86400 seconds')`;

interface Condition<T> {
  /** The value as stored, or a BAD_USER_INPUT naming `field`. */
  check: (value: unknown, field: string) => T;
  holds: (value: T, member: SegmentFacts, now: Date) => boolean;
  /** `now()`: the placeholder of the instant, added to the parameters when first asked for. */
  sql: (value: T, param: Param, now: () => string) => string;
}

function wholeNumber(min: number, max: number) {
  return (value: unknown, field: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new BadInputError(field, `${field.split('.').at(-1)} must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

type Conditions = { [K in keyof SegmentConditionsSpec]-?: Condition<NonNullable<SegmentConditionsSpec[K]>> };

export const SEGMENT_CONDITIONS: Conditions = {
  countries: {
    check: (value, field) => {
      if (!Array.isArray(value) || value.length < 1 || value.length > MAX_COUNTRIES || !value.every((c) => typeof c === 'string' && COUNTRY.test(c))) {
        throw new BadInputError(field, `countries must be 1 to ${MAX_COUNTRIES} ISO 3166-1 alpha-2 codes`);
      }
      return [...new Set((value as string[]).map((c) => c.toUpperCase()))];
    },
    holds: (countries, member) => member.country !== null && countries.includes(member.country),
    sql: (countries, param) => `f.country::text = ANY(${param(countries)}::text[])`,
  },
  minTierRank: {
    check: wholeNumber(0, 100),
    holds: (rank, member) => member.tierRank >= rank,
    sql: (rank, param) => `f.tier_rank >= ${param(rank)}::int`,
  },
  attributeEquals: {
    check: (value, field) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadInputError(field, 'attributeEquals must be an object of attribute names and values');
      const keys = Object.keys(value);
      if (keys.length < 1 || keys.length > MAX_ATTRIBUTE_KEYS) throw new BadInputError(field, `attributeEquals must name 1 to ${MAX_ATTRIBUTE_KEYS} attributes`);
      if (keys.some((key) => key.length === 0 || key.length > 64)) throw new BadInputError(field, 'attribute names must be 1 to 64 characters');
      return value as Record<string, unknown>;
    },
    // Equal, not contained: { tags: ['a'] } does not match a member whose tags are ['a', 'b'].
    holds: (expected, member) => Object.entries(expected).every(([key, value]) => Object.hasOwn(member.attributes, key) && isDeepStrictEqual(member.attributes[key], value)),
    sql: (expected, param) =>
      Object.entries(expected)
        .map(([key, value]) => `(f.attributes -> ${param(key)}::text) = ${param(JSON.stringify(value))}::jsonb`)
        .join(' AND '),
  },
  minLifetimeEarned: {
    check: wholeNumber(0, 2_147_483_647),
    holds: (points, member) => member.lifetimeEarned >= points,
    sql: (points, param) => `f.lifetime_earned >= ${param(points)}::int`,
  },
  enrolledWithinDays: {
    check: wholeNumber(1, MAX_DAYS),
    holds: (days, member, now) => member.enrolledAt.getTime() > daysBefore(now, days),
    sql: (days, param, now) => `f.enrolled_at > ${daysBeforeSql(now, param(days))}`,
  },
  inactiveForDays: {
    check: wholeNumber(1, MAX_DAYS),
    // A member that never had an activity has been inactive since its enrolment.
    holds: (days, member, now) => (member.lastActiveAt ?? member.enrolledAt).getTime() <= daysBefore(now, days),
    sql: (days, param, now) => `COALESCE(f.last_active_at, f.enrolled_at) <= ${daysBeforeSql(now, param(days))}`,
  },
  activeWithinDays: {
    check: wholeNumber(1, MAX_DAYS),
    holds: (days, member, now) => member.lastActiveAt !== null && member.lastActiveAt.getTime() > daysBefore(now, days),
    sql: (days, param, now) => `f.last_active_at > ${daysBeforeSql(now, param(days))}`,
  },
};

const NAMES = Object.keys(SEGMENT_CONDITIONS) as (keyof SegmentConditionsSpec)[];

/**
 * The conditions a member's own refresh does not keep current, so the sweep recomputes segments
 * that set one: time passing alone (the day counts), and tiers, which reviews and a tier's new
 * rank move in bulk.
 */
export const SWEPT_CONDITIONS: readonly (keyof SegmentConditionsSpec)[] = ['enrolledWithinDays', 'inactiveForDays', 'activeWithinDays', 'minTierRank'];

/**
 * The conditions as stored (unset ones left out), or BAD_USER_INPUT naming `<prefix>.<condition>`.
 * Conditions no member can meet together are refused too.
 */
export function checkConditions(input: Record<string, unknown>, prefix = 'conditions'): SegmentConditionsSpec {
  const checked: Record<string, unknown> = {};
  for (const name of NAMES) {
    const value = input[name];
    if (value === null || value === undefined) continue;
    checked[name] = SEGMENT_CONDITIONS[name].check(value, `${prefix}.${name}`);
  }
  const spec = checked as SegmentConditionsSpec;
  if (spec.inactiveForDays != null && spec.activeWithinDays != null && spec.inactiveForDays >= spec.activeWithinDays) {
    throw new BadInputError(`${prefix}.inactiveForDays`, 'inactiveForDays must be less than activeWithinDays: no member is both');
  }
  return spec;
}

/** Whether the member is in a segment of these conditions at `now`. */
export function inSegment(conditions: SegmentConditionsSpec, member: SegmentFacts, now: Date): boolean {
  if (member.status !== 'ACTIVE') return false;
  return NAMES.every((name) => {
    const value = conditions[name];
    if (value === null || value === undefined) return true;
    return (SEGMENT_CONDITIONS[name] as Condition<unknown>).holds(value, member, now);
  });
}

/**
 * The same decision as one SQL condition over `f`, compared with the instant `now` (a parameter,
 * added only when a condition reads it: PostgreSQL refuses a parameter it cannot type).
 */
export function segmentSql(conditions: SegmentConditionsSpec, param: Param, now: Date): string {
  let placeholder: string | undefined;
  const nowParam = () => (placeholder ??= param(now));
  const parts = ["f.status = 'ACTIVE'"];
  for (const name of NAMES) {
    const value = conditions[name];
    if (value === null || value === undefined) continue;
    parts.push(`(${(SEGMENT_CONDITIONS[name] as Condition<unknown>).sql(value, param, nowParam)})`);
  }
  return parts.join(' AND ');
}

/** A Param for pg's positional placeholders, appending to `params` (which may already hold some). */
export function positional(params: unknown[]): Param {
  return (value) => {
    params.push(value);
    return `$${params.length}`;
  };
}
